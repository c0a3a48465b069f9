package io.raidd.cli.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raidd.nbd.TlsMode;
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
