package io.raidd.cli.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raidd.cli.control.ControlPath;
import io.raidd.nbd.TlsMode;
import io.raidd.raid.agent.RateLimits;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DaemonConfigTest {
    @TempDir
    Path dir;

    @Test
    void readsAConfigFileWithPathsRelativeToIt() throws IOException {
        Path file = dir.resolve("raidd.conf");
        Files.writeString(
                file,
                String.join(
                        "\n",
                        "# a comment",
                        "listen 127.0.0.1:10901   # trailing comment",
                        "listen [::1]:10902",
                        "unix raidd.sock",
                        "member d0.img d1.img",
                        "member /abs/d2.img",
                        "member-timeout 500ms",
                        "safe-mode-delay 0",
                        "force yes",
                        "control run/raidd.sock",
                        "event-program hooks/notify   # relative to the file",
                        "allow-fault-injection yes",
                        "rebuild-max 200M",
                        "rebuild-min 20M/s",
                        "max-buffered 64M",
                        "stall-timeout 90s",
                        ""));
        DaemonConfig c = new DaemonConfig.Builder().readFile(file).build();
        assertEquals(
                List.of(new DaemonConfig.HostPort("127.0.0.1", 10901), new DaemonConfig.HostPort("::1", 10902)),
                c.listen());
        assertEquals(dir.resolve("raidd.sock"), c.unixSocket());
        assertEquals(List.of(dir.resolve("d0.img"), dir.resolve("d1.img"), Path.of("/abs/d2.img")), c.members());
        assertEquals(Duration.ofMillis(500), c.memberTimeout());
        assertEquals(Duration.ZERO, c.safeModeDelay());
        assertTrue(c.force());
        assertEquals(TlsMode.OFF, c.tls());
        assertEquals(dir.resolve("run/raidd.sock"), c.controlSocket());
        assertEquals(dir.resolve("hooks/notify").toString(), c.eventProgram());
        assertTrue(c.allowFaultInjection());
        assertEquals(200L << 20, c.rebuildMaxBytesPerSecond());
        assertEquals(20L << 20, c.rebuildMinBytesPerSecond());
        assertEquals(new RateLimits(20L << 20, 200L << 20), c.rebuildLimits());
        assertEquals(64L << 20, c.maxBufferedBytes());
        assertEquals(Duration.ofSeconds(90), c.stallTimeout());
    }

    @Test
    void bufferCeilingAndStallTimeoutDefaultsAndLimits() {
        DaemonConfig.Builder b = new DaemonConfig.Builder();
        b.members.add(Path.of("d0.img"));
        DaemonConfig c = b.build();
        assertEquals(io.raidd.nbd.NbdServerConfig.defaultMaxBufferedBytes(), c.maxBufferedBytes());
        assertTrue(c.maxBufferedBytes() >= 32L << 20 && c.maxBufferedBytes() <= 256L << 20);
        assertEquals(Duration.ofMinutes(3), c.stallTimeout());
        b.maxBufferedBytes = 1L << 20;
        assertEquals(
                "--max-buffered must be at least 32M, not 1M",
                assertThrows(IllegalArgumentException.class, b::build).getMessage());
        b.maxBufferedBytes = null;
        b.stallTimeout = Duration.ZERO;
        assertEquals(
                "--stall-timeout must be positive",
                assertThrows(IllegalArgumentException.class, b::build).getMessage());
    }

    @Test
    void controlAndRebuildDefaults() {
        DaemonConfig.Builder b = new DaemonConfig.Builder();
        b.members.add(Path.of("d0.img"));
        DaemonConfig c = b.build();
        assertEquals(ControlPath.resolve(null), c.controlSocket());
        assertNull(c.eventProgram());
        assertFalse(c.allowFaultInjection());
        assertEquals(RateLimits.DEFAULT, c.rebuildLimits());
        // A maximum below the default minimum takes the minimum down with it...
        b.rebuildMaxBytesPerSecond = 5L << 20;
        assertEquals(new RateLimits(5L << 20, 5L << 20), b.build().rebuildLimits());
        // ...but both given and crossed is a mistake worth saying.
        b.rebuildMinBytesPerSecond = 6L << 20;
        assertEquals(
                "--rebuild-min 6M is above --rebuild-max 5M",
                assertThrows(IllegalArgumentException.class, b::build).getMessage());
    }

    @Test
    void ratesAsOperatorsWriteThem() {
        assertEquals(50L << 20, DaemonConfig.parseRate("50M"));
        assertEquals(50L << 20, DaemonConfig.parseRate("50MiB/s"));
        assertEquals(RateLimits.UNLIMITED, DaemonConfig.parseRate("Unlimited"));
        assertEquals(
                "rate must be positive: '0'",
                assertThrows(IllegalArgumentException.class, () -> DaemonConfig.parseRate("0"))
                        .getMessage());
        assertEquals(
                "bad rate 'fast' (examples: 50M, 1G, unlimited)",
                assertThrows(IllegalArgumentException.class, () -> DaemonConfig.parseRate("fast"))
                        .getMessage());
        assertEquals("10M", DaemonConfig.formatRate(10L << 20));
        assertEquals("1000", DaemonConfig.formatRate(1000));
        assertEquals("unlimited", DaemonConfig.formatRate(Long.MAX_VALUE));
    }

    @Test
    void defaultsToLoopbackOnTheNbdPort() {
        DaemonConfig.Builder b = new DaemonConfig.Builder();
        b.members.add(Path.of("d0.img"));
        assertEquals(
                List.of(new DaemonConfig.HostPort("127.0.0.1", 10809)),
                b.build().listen());
    }

    @Test
    void errorsNameTheFileLineAndSetting() throws IOException {
        Path file = dir.resolve("bad.conf");
        Files.writeString(file, "member d0.img\nlisten nowhere:xx\n");
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> new DaemonConfig.Builder().readFile(file));
        assertEquals(file + ":2: bad listen address 'nowhere:xx' (expected HOST:PORT)", e.getMessage());
        Files.writeString(file, "colour blue\n");
        e = assertThrows(IllegalArgumentException.class, () -> new DaemonConfig.Builder().readFile(file));
        assertEquals(file + ":1: unknown setting 'colour'", e.getMessage());
        Files.writeString(file, "allow-fault-injection maybe\n");
        e = assertThrows(IllegalArgumentException.class, () -> new DaemonConfig.Builder().readFile(file));
        assertEquals(file + ":1: expected yes or no, not 'maybe'", e.getMessage());
        Files.writeString(file, "rebuild-max 0\n");
        e = assertThrows(IllegalArgumentException.class, () -> new DaemonConfig.Builder().readFile(file));
        assertEquals(file + ":1: rate must be positive: '0'", e.getMessage());
        Files.writeString(file, "tls\n");
        e = assertThrows(IllegalArgumentException.class, () -> new DaemonConfig.Builder().readFile(file));
        assertEquals(file + ":1: 'tls' needs a value", e.getMessage());
    }

    @Test
    void refusesConfigurationsThatCannotServe() {
        IllegalArgumentException nothing =
                assertThrows(IllegalArgumentException.class, () -> new DaemonConfig.Builder().build());
        assertTrue(nothing.getMessage().startsWith("nothing to serve"), nothing.getMessage());
        DaemonConfig.Builder tls = new DaemonConfig.Builder();
        tls.members.add(Path.of("d0.img"));
        tls.tls = TlsMode.REQUIRE;
        assertEquals(
                "--tls require needs --tls-cert and --tls-key",
                assertThrows(IllegalArgumentException.class, tls::build).getMessage());
        assertThrows(IllegalArgumentException.class, () -> DaemonConfig.parseDuration("soon"));
        assertEquals(Duration.ofMinutes(2), DaemonConfig.parseDuration("2m"));
    }
}
