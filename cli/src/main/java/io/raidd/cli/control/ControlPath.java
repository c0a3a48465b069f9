package io.raidd.cli.control;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Where the control socket is, the same rule for raidd and raidctl: {@code --control PATH}, else
 * {@code $RAIDD_CONTROL}, else {@code /run/raidd/raidd.sock} for root, else
 * {@code $XDG_RUNTIME_DIR/raidd.sock}, else {@code ./raidd.sock}.
 */
public final class ControlPath {
    private ControlPath() {}

    public static final String ENVIRONMENT_VARIABLE = "RAIDD_CONTROL";
    public static final Path ROOT_DEFAULT = Path.of("/run/raidd/raidd.sock");
    public static final String FILE_NAME = "raidd.sock";

    /** The path for this process. */
    public static Path resolve(Path flag) {
        return resolve(flag, System.getenv(), currentUid());
    }

    /** The rule itself, with the environment and the user id given (tests). */
    public static Path resolve(Path flag, Map<String, String> environment, long uid) {
        if (flag != null) {
            return flag;
        }
        String fromEnvironment = environment.get(ENVIRONMENT_VARIABLE);
        if (fromEnvironment != null && !fromEnvironment.isBlank()) {
            return Path.of(fromEnvironment);
        }
        if (uid == 0) {
            return ROOT_DEFAULT;
        }
        String runtime = environment.get("XDG_RUNTIME_DIR");
        if (runtime != null && !runtime.isBlank()) {
            return Path.of(runtime, FILE_NAME);
        }
        return Path.of(".", FILE_NAME);
    }

    /** This process's user id, -1 when it cannot be had (then the root default is never chosen). */
    public static long currentUid() {
        try {
            return new com.sun.security.auth.module.UnixSystem().getUid();
        } catch (RuntimeException | LinkageError e) {
            try {
                // The owner of /proc/PID is the process's user (Linux).
                return ((Number) Files.getAttribute(Path.of("/proc/self"), "unix:uid")).longValue();
            } catch (Exception notLinux) {
                return -1;
            }
        }
    }
}
