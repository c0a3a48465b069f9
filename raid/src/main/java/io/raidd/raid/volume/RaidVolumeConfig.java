package io.raidd.raid.volume;

import java.time.Duration;

/**
 * Tunables of a {@link RaidVolume}; immutable once built.
 *
 * @param memberTimeoutNs a member I/O that takes longer fails the member (md has no such timeout;
 *     a hung disk would otherwise hang the volume)
 * @param ioThreadsPerMember threads that issue positional I/O to one member; several let one
 *     member serve concurrent requests, and a hung member only blocks its own threads
 */
public record RaidVolumeConfig(long memberTimeoutNs, int ioThreadsPerMember) {

    public static final RaidVolumeConfig DEFAULT =
            new RaidVolumeConfig(Duration.ofSeconds(30).toNanos(), 8);

    public RaidVolumeConfig {
        if (memberTimeoutNs <= 0) {
            throw new IllegalArgumentException("member timeout must be positive");
        }
        if (ioThreadsPerMember < 1 || ioThreadsPerMember > 256) {
            throw new IllegalArgumentException("ioThreadsPerMember must be 1..256");
        }
    }

    public RaidVolumeConfig withMemberTimeout(Duration timeout) {
        return new RaidVolumeConfig(timeout.toNanos(), ioThreadsPerMember);
    }
}
