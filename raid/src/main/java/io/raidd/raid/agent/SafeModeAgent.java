package io.raidd.raid.agent;

import io.raidd.raid.volume.RaidVolume;
import java.io.IOException;

/**
 * md's safe mode as a periodic agent: a few times per safe-mode delay, asks the volume to mark
 * itself clean if it has been idle that long ({@link RaidVolume#tryMarkClean}).
 */
public final class SafeModeAgent implements Agent {
    private final RaidVolume volume;
    private final long periodNanos;

    public SafeModeAgent(RaidVolume volume, long safeModeDelayNanos) {
        this.volume = volume;
        this.periodNanos = Math.max(1_000_000L, safeModeDelayNanos / 4);
    }

    @Override
    public String action() {
        return "safe-mode";
    }

    @Override
    public long doWork() throws IOException {
        volume.tryMarkClean();
        return 0;
    }

    @Override
    public boolean done() {
        return false;
    }

    @Override
    public long periodNanos() {
        return periodNanos;
    }
}
