package io.raidd.raid.volume;

import java.io.IOException;
import java.lang.System.Logger.Level;

/**
 * Makes redundancy consistent after an unclean shutdown by walking every stripe (or mirrored
 * chunk) once. Work comes in bounded steps so a runner can pace it and stop it; the cursor only
 * moves forward.
 */
public final class ResyncAgent {
    private static final System.Logger LOG = System.getLogger("io.raidd.raid");

    private final RaidVolume volume;
    private final VolumeEngine engine;
    private final long units;
    private long cursor;
    private long rewritten;

    ResyncAgent(RaidVolume volume, VolumeEngine engine) {
        this.volume = volume;
        this.engine = engine;
        this.units = engine.resyncUnits();
    }

    /** Resyncs up to {@code maxUnits} units; returns how many it did (0 when finished). */
    public int doWork(int maxUnits) throws IOException {
        int done = 0;
        while (done < maxUnits && cursor < units) {
            rewritten += engine.resync(cursor);
            cursor++;
            done++;
        }
        if (cursor == units && done > 0) {
            volume.resyncFinished();
            LOG.log(Level.INFO, "array {0}: resync complete, {1} members blocks rewritten", volume.name(), rewritten);
        }
        return done;
    }

    public boolean done() {
        return cursor >= units;
    }

    public long cursor() {
        return cursor;
    }

    public long units() {
        return units;
    }

    /** Member blocks whose redundancy had to be rewritten so far. */
    public long rewritten() {
        return rewritten;
    }
}
