package io.raidd.raid.volume;

import java.time.Duration;

/**
 * Tunables of a {@link RaidVolume}; immutable once built.
 *
 * @param memberTimeoutNs a member I/O that takes longer fails the member (md has no such timeout;
 *     a hung disk would otherwise hang the volume)
 * @param ioThreadsPerMember threads that issue positional I/O to one member; several let one
 *     member serve concurrent requests, and a hung member only blocks its own threads
 * @param safeModeDelayNs after this long without writes a dirty array is flushed and marked clean
 *     again (md's safe_mode_delay, 200 ms there), so a crash while idle needs no resync; 0 keeps
 *     the array dirty until it is closed
 * @param verifyReads whether ordinary reads check the members' integrity tags (scrubs always do)
 * @param tagCacheBytes memory for integrity tags held in memory (4 KiB of tags cover 4 MiB of a
 *     member); the rest are read from the members as needed
 */
public record RaidVolumeConfig(
        long memberTimeoutNs, int ioThreadsPerMember, long safeModeDelayNs, boolean verifyReads, long tagCacheBytes) {

    public static final long DEFAULT_TAG_CACHE_BYTES = 64L << 20;

    public static final RaidVolumeConfig DEFAULT = new RaidVolumeConfig(
            Duration.ofSeconds(30).toNanos(), 8, Duration.ofSeconds(2).toNanos(), true, DEFAULT_TAG_CACHE_BYTES);

    public RaidVolumeConfig {
        if (memberTimeoutNs <= 0) {
            throw new IllegalArgumentException("member timeout must be positive");
        }
        if (ioThreadsPerMember < 1 || ioThreadsPerMember > 256) {
            throw new IllegalArgumentException("ioThreadsPerMember must be 1..256");
        }
        if (safeModeDelayNs < 0) {
            throw new IllegalArgumentException("safe mode delay must not be negative");
        }
        if (tagCacheBytes < 0) {
            throw new IllegalArgumentException("tag cache size must not be negative");
        }
    }

    public RaidVolumeConfig withMemberTimeout(Duration timeout) {
        return new RaidVolumeConfig(timeout.toNanos(), ioThreadsPerMember, safeModeDelayNs, verifyReads, tagCacheBytes);
    }

    public RaidVolumeConfig withSafeModeDelay(Duration delay) {
        return new RaidVolumeConfig(memberTimeoutNs, ioThreadsPerMember, delay.toNanos(), verifyReads, tagCacheBytes);
    }

    public RaidVolumeConfig withVerifyReads(boolean on) {
        return new RaidVolumeConfig(memberTimeoutNs, ioThreadsPerMember, safeModeDelayNs, on, tagCacheBytes);
    }

    public RaidVolumeConfig withTagCache(long bytes) {
        return new RaidVolumeConfig(memberTimeoutNs, ioThreadsPerMember, safeModeDelayNs, verifyReads, bytes);
    }
}
