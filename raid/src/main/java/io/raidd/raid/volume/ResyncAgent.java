package io.raidd.raid.volume;

import java.io.IOException;
import java.lang.System.Logger.Level;

/**
 * Makes redundancy consistent after an unclean shutdown by walking every stripe once through
 * {@link StripeAccess}: load it under its lock, reconcile, rewrite what differed. Work comes in
 * bounded steps so a runner can pace it and stop it; the cursor only moves forward.
 */
public final class ResyncAgent {
    private static final System.Logger LOG = System.getLogger("io.raidd.raid");

    private final RaidVolume volume;
    private final StripeAccess stripes;
    private final long units;
    private long cursor;
    private long rewritten;

    ResyncAgent(RaidVolume volume, StripeAccess stripes) {
        this.volume = volume;
        this.stripes = stripes;
        this.units = stripes.stripeCount();
    }

    /** Resyncs up to {@code maxUnits} units; returns how many it did (0 when finished). */
    public int doWork(int maxUnits) throws IOException {
        int done = 0;
        while (done < maxUnits && cursor < units) {
            rewritten += resync(cursor);
            cursor++;
            done++;
        }
        if (cursor == units && done > 0) {
            volume.resyncFinished();
            LOG.log(Level.INFO, "array {0}: resync complete, {1} members blocks rewritten", volume.name(), rewritten);
        }
        return done;
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
