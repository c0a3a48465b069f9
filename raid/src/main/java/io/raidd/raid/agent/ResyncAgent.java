package io.raidd.raid.agent;

import io.raidd.raid.volume.LoadedStripe;
import io.raidd.raid.volume.RaidVolume;
import io.raidd.raid.volume.StripeAccess;
import java.io.IOException;
import java.lang.System.Logger.Level;

/**
 * Makes redundancy consistent after an unclean shutdown by walking every stripe once through
 * {@link StripeAccess}: load it under its lock, reconcile, rewrite what differed (md's resync). The
 * cursor only moves forward; when it reaches the end the volume counts as in sync.
 */
public final class ResyncAgent implements Agent {
    private static final System.Logger LOG = System.getLogger("io.raidd.raid");

    /** Stripes per step: a few, so pacing and stopping act quickly. */
    static final int STRIPES_PER_STEP = 4;

    private final RaidVolume volume;
    private final StripeAccess stripes;
    private final long units;
    private final long unitBytes;
    private long cursor;
    private long rewritten;

    public ResyncAgent(RaidVolume volume) {
        this.volume = volume;
        this.stripes = volume.stripes();
        this.units = stripes.stripeCount();
        this.unitBytes = units == 0 ? 0 : volume.sizeBytes() / units;
    }

    @Override
    public String action() {
        return "resync";
    }

    @Override
    public long doWork() throws IOException {
        int done = 0;
        while (done < STRIPES_PER_STEP && cursor < units) {
            rewritten += resync(cursor);
            cursor++;
            done++;
        }
        if (cursor == units && done > 0) {
            volume.resyncFinished();
            LOG.log(Level.INFO, "array {0}: resync complete, {1} member blocks rewritten", volume.name(), rewritten);
        }
        return done * unitBytes;
    }

    private int resync(long stripe) throws IOException {
        try (StripeAccess.StripeLock lock = stripes.lock(stripe)) {
            LoadedStripe st = stripes.load(stripe);
            int written = 0;
            for (int position : stripes.reconcile(st)) {
                written += stripes.rewrite(st, position);
            }
            return written;
        }
    }

    @Override
    public boolean done() {
        return cursor >= units;
    }

    @Override
    public long doneBytes() {
        return cursor * unitBytes;
    }

    @Override
    public long totalBytes() {
        return units * unitBytes;
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
