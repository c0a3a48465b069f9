package io.raidd.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raidd.cli.daemon.DaemonConfig;
import io.raidd.raid.agent.RateLimits;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class RaiddMainTest {
    @Test
    void raiddFlagsReachTheConfig() throws IOException {
        RaiddMain main = new RaiddMain();
        new picocli.CommandLine(main)
                .parseArgs(
                        "--control",
                        "/tmp/c.sock",
                        "--event-program",
                        "/usr/local/bin/alert",
                        "--allow-fault-injection",
                        "--rebuild-max",
                        "1G",
                        "--rebuild-min",
                        "unlimited",
                        "d0.img");
        assertEquals(
                "--rebuild-min unlimited is above --rebuild-max 1G",
                assertThrows(IllegalArgumentException.class, main::config).getMessage());
        main = new RaiddMain();
        new picocli.CommandLine(main)
                .parseArgs(
                        "--control",
                        "/tmp/c.sock",
                        "--event-program",
                        "alert",
                        "--allow-fault-injection",
                        "--rebuild-max",
                        "1G",
                        "--max-buffered",
                        "128M",
                        "--stall-timeout",
                        "2m",
                        "d0.img");
        DaemonConfig c = main.config();
        assertEquals(128L << 20, c.maxBufferedBytes());
        assertEquals(java.time.Duration.ofMinutes(2), c.stallTimeout());
        assertEquals(Path.of("/tmp/c.sock"), c.controlSocket());
        assertEquals("alert", c.eventProgram());
        assertTrue(c.allowFaultInjection());
        assertEquals(new RateLimits(10L << 20, 1L << 30), c.rebuildLimits());
    }
}
