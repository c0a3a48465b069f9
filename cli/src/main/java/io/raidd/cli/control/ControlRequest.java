package io.raidd.cli.control;

import io.raidd.cli.control.ControlService.FaultSpec;

/**
 * One decoded, validated control request ({@link ControlProtocol} has the wire form). Every value
 * here has passed the protocol's checks: strings are non-empty single lines, numbers in range.
 */
public sealed interface ControlRequest {

    /** The command's wire name. */
    String command();

    /** Whether it changes a volume (logged at INFO with the peer). */
    default boolean changing() {
        return false;
    }

    /** What the request asks, in one line for the log ("fail vol0 /dev/sdb"). */
    String describe();

    /** {@code volume} null: every volume. */
    record Status(String volume) implements ControlRequest {
        @Override
        public String command() {
            return "status";
        }

        @Override
        public String describe() {
            return volume == null ? "status" : "status " + volume;
        }
    }

    record Fail(String volume, String member) implements ControlRequest {
        @Override
        public String command() {
            return "fail";
        }

        @Override
        public boolean changing() {
            return true;
        }

        @Override
        public String describe() {
            return "fail " + volume + " " + member;
        }
    }

    record Remove(String volume, String member) implements ControlRequest {
        @Override
        public String command() {
            return "remove";
        }

        @Override
        public boolean changing() {
            return true;
        }

        @Override
        public String describe() {
            return "remove " + volume + " " + member;
        }
    }

    record Add(String volume, String path) implements ControlRequest {
        @Override
        public String command() {
            return "add";
        }

        @Override
        public boolean changing() {
            return true;
        }

        @Override
        public String describe() {
            return "add " + volume + " " + path;
        }
    }

    record Replace(String volume, String oldMember, String newPath) implements ControlRequest {
        @Override
        public String command() {
            return "replace";
        }

        @Override
        public boolean changing() {
            return true;
        }

        @Override
        public String describe() {
            return "replace " + volume + " " + oldMember + " " + newPath;
        }
    }

    /** A null limit stays as it is; {@link Long#MAX_VALUE} is unlimited. */
    record RebuildLimits(String volume, Long minBytesPerSecond, Long maxBytesPerSecond) implements ControlRequest {
        @Override
        public String command() {
            return "rebuild-limits";
        }

        @Override
        public boolean changing() {
            return true;
        }

        @Override
        public String describe() {
            return "rebuild-limits " + volume + " min " + rate(minBytesPerSecond) + " max " + rate(maxBytesPerSecond);
        }

        private static String rate(Long bytesPerSecond) {
            if (bytesPerSecond == null) {
                return "unchanged";
            }
            return bytesPerSecond == Long.MAX_VALUE ? "unlimited" : bytesPerSecond + " B/s";
        }
    }

    record Wait(String volume, long intervalMillis) implements ControlRequest {
        @Override
        public String command() {
            return "wait";
        }

        @Override
        public String describe() {
            return "wait " + volume;
        }
    }

    record Monitor() implements ControlRequest {
        @Override
        public String command() {
            return "monitor";
        }

        @Override
        public String describe() {
            return "monitor";
        }
    }

    record Inject(String volume, String member, FaultSpec fault) implements ControlRequest {
        @Override
        public String command() {
            return "inject";
        }

        @Override
        public boolean changing() {
            return true;
        }

        @Override
        public String describe() {
            String what = switch (fault.kind()) {
                case "eio-read", "eio-write" ->
                    fault.lengthBytes() == 0
                            ? " (whole member)"
                            : " " + fault.offsetBytes() + "+" + fault.lengthBytes();
                case "slow" -> " " + fault.millis() + " ms";
                case "flip-bits" -> " " + fault.count();
                default -> "";
            };
            return "inject " + volume + " " + member + " " + fault.kind() + what;
        }
    }

    /**
     * A scrub request: {@code start} (in repair mode unless {@code repair} is false), {@code pause},
     * {@code resume} or {@code status}.
     */
    record Scrub(String volume, String action, boolean repair) implements ControlRequest {
        @Override
        public String command() {
            return "scrub";
        }

        @Override
        public boolean changing() {
            return !action.equals("status");
        }

        @Override
        public String describe() {
            return "scrub " + action + (action.equals("start") ? (repair ? " --repair " : " --check ") : " ") + volume;
        }
    }
}
