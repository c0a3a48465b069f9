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
    /** Stripe runs to walk, as {first, end}; the whole volume unless resyncing ranges. */
    private final java.util.List<long[]> runs;
    /** Volume ranges this agent resyncs (null: the whole volume after an unclean shutdown). */
    private final java.util.List<long[]> ranges;

    private final long units;
    private final long unitBytes;
    private int run;
    private long cursor;
    private long done;
    private long rewritten;

    /** The whole volume, after an unclean shutdown. */
    public ResyncAgent(RaidVolume volume) {
        this(volume, null);
    }

    private ResyncAgent(RaidVolume volume, java.util.List<long[]> ranges) {
        this.volume = volume;
        this.stripes = volume.stripes();
        this.ranges = ranges;
        long total = stripes.stripeCount();
        this.unitBytes = total == 0 ? 0 : volume.sizeBytes() / total;
        this.runs = new java.util.ArrayList<>();
        if (ranges == null) {
            runs.add(new long[] {0, total});
        } else {
            for (long[] r : ranges) {
                long first = stripes.stripeOfVolumeOffset(r[0]);
                long end = Math.min(total, stripes.stripeOfVolumeOffset(r[0] + r[1] - 1) + 1);
                runs.add(new long[] {first, end});
            }
        }
        long n = 0;
        for (long[] r : runs) {
            n += r[1] - r[0];
        }
        this.units = n;
        this.cursor = runs.isEmpty() ? 0 : runs.get(0)[0];
    }

    /**
     * Just the stripes of {@code ranges} (volume offsets and lengths): where a write failed half-way
     * (out of space) and redundancy may not match the data.
     */
    public static ResyncAgent forRanges(RaidVolume volume, java.util.List<long[]> ranges) {
        return new ResyncAgent(volume, ranges);
    }

    @Override
    public String action() {
        return "resync";
    }

    @Override
    public long doWork() throws IOException {
        int step = 0;
        while (step < STRIPES_PER_STEP && run < runs.size()) {
            if (cursor >= runs.get(run)[1]) {
                run++;
                cursor = run < runs.size() ? runs.get(run)[0] : cursor;
                continue;
            }
            rewritten += resync(cursor);
            cursor++;
            done++;
            step++;
        }
        if (run >= runs.size() && step >= 0 && !finished) {
            finished = true;
            if (ranges == null) {
                volume.resyncFinished();
                LOG.log(
                        Level.INFO,
                        "array {0}: resync complete, {1} member blocks rewritten",
                        volume.name(),
                        rewritten);
            } else {
                for (long[] r : ranges) {
                    volume.resynced(r[0], r[1]);
                }
                LOG.log(
                        Level.INFO,
                        "array {0}: resynced {1} stripes a failed write may have left inconsistent",
                        volume.name(),
                        units);
            }
        }
        return step * unitBytes;
    }

    private boolean finished;

    private int resync(long stripe) throws IOException {
        try (StripeAccess.StripeLock lock = stripes.lock(stripe)) {
            LoadedStripe st = stripes.load(stripe);
            int written = 0;
            for (int position : stripes.reconcile(st)) {
                written += stripes.rewrite(st, position);
            }
            stripes.retag(st);
            return written;
        }
    }

    @Override
    public boolean done() {
        return finished;
    }

    @Override
    public long doneBytes() {
        return done * unitBytes;
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
