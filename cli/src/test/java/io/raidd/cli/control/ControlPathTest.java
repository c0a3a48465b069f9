package io.raidd.cli.control;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ControlPathTest {
    @Test
    void flagThenEnvironmentThenRootThenRuntimeDirectoryThenHere() {
        Map<String, String> both = Map.of("RAIDD_CONTROL", "/tmp/r.sock", "XDG_RUNTIME_DIR", "/run/user/1000");
        assertEquals(Path.of("/x.sock"), ControlPath.resolve(Path.of("/x.sock"), both, 0));
        assertEquals(Path.of("/tmp/r.sock"), ControlPath.resolve(null, both, 0));
        assertEquals(Path.of("/tmp/r.sock"), ControlPath.resolve(null, both, 1000));
        Map<String, String> runtime = Map.of("XDG_RUNTIME_DIR", "/run/user/1000");
        assertEquals(Path.of("/run/raidd/raidd.sock"), ControlPath.resolve(null, runtime, 0));
        assertEquals(Path.of("/run/user/1000/raidd.sock"), ControlPath.resolve(null, runtime, 1000));
        assertEquals(Path.of("./raidd.sock"), ControlPath.resolve(null, Map.of(), 1000));
        assertEquals(Path.of("./raidd.sock"), ControlPath.resolve(null, Map.of("RAIDD_CONTROL", " "), -1));
        assertEquals(Path.of("/run/raidd/raidd.sock"), ControlPath.resolve(null, Map.of(), 0));
    }

    @Test
    void knowsWhoThisProcessIs() throws IOException {
        // The owner of /proc/PID is the process's user.
        Number procOwner = (Number) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        assertEquals(procOwner.longValue(), ControlPath.currentUid());
    }
}
