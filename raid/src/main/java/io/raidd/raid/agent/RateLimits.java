package io.raidd.raid.agent;

/**
 * How fast a sync action may go, in bytes per second: at most {@code maxBytesPerSecond} while the
 * volume has no foreground I/O, and {@code minBytesPerSecond} (never less) while it has (md's
 * speed_limit_min and speed_limit_max, with foreground activity deciding which applies).
 * {@link #UNLIMITED} means no limit.
 */
public record RateLimits(long minBytesPerSecond, long maxBytesPerSecond) {
    public static final long UNLIMITED = Long.MAX_VALUE;

    /** md's minimum is 1 MB/s; raidd keeps a rebuild under load at 10 MB/s by default. */
    public static final RateLimits DEFAULT = new RateLimits(10L << 20, UNLIMITED);

    public RateLimits {
        if (minBytesPerSecond <= 0 || maxBytesPerSecond <= 0) {
            throw new IllegalArgumentException("rate limits must be positive");
        }
        if (minBytesPerSecond > maxBytesPerSecond) {
            throw new IllegalArgumentException(
                    "minimum rate " + minBytesPerSecond + " B/s is above the maximum " + maxBytesPerSecond + " B/s");
        }
    }

    public RateLimits withMax(long max) {
        return new RateLimits(Math.min(minBytesPerSecond, max), max);
    }

    public RateLimits withMin(long min) {
        return new RateLimits(min, Math.max(min, maxBytesPerSecond));
    }
}
