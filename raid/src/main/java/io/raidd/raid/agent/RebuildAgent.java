package io.raidd.raid.agent;

import io.raidd.raid.member.Member;
import io.raidd.raid.member.MemberLifecycle;
import io.raidd.raid.member.MemberState;
import io.raidd.raid.volume.LoadedStripe;
import io.raidd.raid.volume.RaidVolume;
import io.raidd.raid.volume.StripeAccess;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * Rebuilds every member that is REBUILDING (spares rebuilt into a slot, hot-replace targets),
 * walking each in its own member order, md's recovery: for each member chunk, under the lock of the
 * stripe it belongs to, load the stripe from the members that can be read, regenerate the targets'
 * blocks (RAID-4/5/6 by parity, both at once when RAID-6 rebuilds two; mirrors by copying; a
 * replacement by copying its slot's own member), write them, and move the target's recovered
 * offset past the chunk. Runs of chunks that are holes on every member read are recorded on the
 * targets as zeroes without reading anything. Progress is made durable (md's recovery_offset) every
 * {@link #CHECKPOINT_NANOS}, so a restart resumes close to where it stopped.
 *
 * <p>A survivor that fails to read is worked around where redundancy allows (and its block is
 * rewritten, md's read-error correction); a stripe that cannot be reconstructed at all is reported
 * as lost (reads of it fail) and the rebuild goes on.
 */
public final class RebuildAgent implements Agent {
    private static final System.Logger LOG = System.getLogger("io.raidd.raid");

    /**
     * Target bytes rebuilt per step by reading and computing. A step that can go in runs goes as two
     * runs at once, one on the agent's thread and one on a helper, so one run's reads overlap the
     * other's parity and writes.
     */
    static final long STEP_BYTES = 4L << 20;

    /** Runs the second half of a step while the agent's thread runs the first. */
    private static final java.util.concurrent.ExecutorService HELPERS =
            java.util.concurrent.Executors.newCachedThreadPool(r -> {
                Thread t = new Thread(r, "raidd-rebuild-helper");
                t.setDaemon(true);
                return t;
            });

    /** Member bytes a step may record as holes. */
    static final long HOLE_STEP_BYTES = 1L << 30;

    /** How often progress is made durable. */
    static final long CHECKPOINT_NANOS = 2_000_000_000L;

    private final RaidVolume volume;
    private final MemberLifecycle lifecycle;
    private final StripeAccess stripes;
    private final LongSupplier clock;
    private final Object scheduling;
    private final int chunkBytes;
    private final long memberChunks;
    private final long memberBytes;
    /** Every target this agent has worked on, with whether it finished. */
    private final Map<Member, Boolean> seen = new java.util.concurrent.ConcurrentHashMap<>();

    private long lastCheckpointNanos;
    private long stripesRebuilt;
    private long holeBytes;
    private boolean finished;

    /**
     * @param scheduling the monitor under which whoever starts rebuilds checks {@link #finished()}
     *     (so a member that starts rebuilding while this agent is ending is never left without one)
     */
    public RebuildAgent(RaidVolume volume, LongSupplier clock, Object scheduling) {
        this.volume = volume;
        this.lifecycle = volume.lifecycle();
        this.stripes = volume.stripes();
        this.clock = clock;
        this.scheduling = scheduling;
        this.chunkBytes = stripes.chunkBytes();
        this.memberChunks = stripes.memberChunks();
        this.memberBytes = volume.geometry().memberUsedBytes();
        this.lastCheckpointNanos = clock.getAsLong();
    }

    @Override
    public String action() {
        List<Member> targets = lifecycle.roster().rebuilding();
        for (Member t : targets) {
            if (lifecycle.roster().replacement(t.slot()) != t) {
                return "rebuild";
            }
        }
        return targets.isEmpty() ? "rebuild" : "replace";
    }

    /** Targets being rebuilt now, lowest recovered offset first. */
    private List<Member> targets() {
        List<Member> out = new ArrayList<>(lifecycle.roster().rebuilding());
        out.sort((a, b) -> Long.compare(a.recoveredBytes(), b.recoveredBytes()));
        for (Member t : out) {
            if (seen.putIfAbsent(t, false) == null) {
                LOG.log(
                        Level.INFO,
                        "array {0}: rebuilding {1} into slot {2} from {3} of {4} bytes",
                        volume.name(),
                        t.name(),
                        t.slot(),
                        String.valueOf(t.recoveredBytes()),
                        String.valueOf(memberBytes));
            }
        }
        return out;
    }

    /**
     * Returns how far the rebuild position moved, in member bytes (what rate limits pace, as md's
     * sync_speed counts the recovery position: two members rebuilt together count once).
     */
    @Override
    public long doWork() throws IOException {
        List<Member> targets = targets();
        if (targets.isEmpty()) {
            return 0;
        }
        long chunk = Math.min(targets.get(0).recoveredBytes(), memberBytes) / chunkBytes;
        List<Member> due = new ArrayList<>();
        for (Member t : targets) {
            if (t.recoveredBytes() / chunkBytes == chunk && t.recoveredBytes() < memberBytes) {
                due.add(t);
            }
        }
        long moved = 0;
        if (!due.isEmpty() && chunk < memberChunks) {
            if (chunk < checkedUpTo || chunk >= dataUpTo) {
                // Not where the last look found data: look for a run of holes once more.
                checkedUpTo = chunk;
                long holes = recordHoles(chunk, due);
                if (holes > 0) {
                    moved = holes;
                } else {
                    dataUpTo = stripes.nextHoleChunk(chunk, due);
                }
            }
            if (moved == 0) {
                moved = rebuildChunks(chunk, due, dataUpTo);
            }
        }
        finishOrCheckpoint(targets);
        return moved * chunkBytes;
    }

    /** Where the last look for holes was made, and up to where it found data (member chunks). */
    private long checkedUpTo = Long.MAX_VALUE;

    private long dataUpTo = -1;

    /**
     * Records a run of chunks that are holes on every member read as zeroes on the targets, and
     * returns its length; 0 when there is no such run at {@code chunk} (or data appeared before the
     * locks were taken).
     */
    private long recordHoles(long chunk, List<Member> due) throws IOException {
        long max = Math.min(HOLE_STEP_BYTES / chunkBytes, memberChunks - chunk);
        long run = stripes.holeChunks(chunk, max, due);
        if (run == 0) {
            return 0;
        }
        long[] covered = new long[(int) run * due.size()];
        int n = 0;
        for (long c = chunk; c < chunk + run; c++) {
            for (Member t : due) {
                long s = stripes.stripeAt(t.slot(), c);
                covered[n++] = s < 0 ? 0 : s;
            }
        }
        try (StripeAccess.StripeLock lock = stripes.lockAll(covered)) {
            // Foreground writes may have allocated data since the first look; decide again, locked.
            long again = stripes.holeChunks(chunk, run, due);
            if (again < run) {
                return 0;
            }
            stripes.zeroChunks(chunk, run, due);
            for (Member t : due) {
                if (t.state() == MemberState.REBUILDING) {
                    lifecycle.recovered(t, Math.min(memberBytes, (chunk + run) * chunkBytes));
                }
            }
        }
        holeBytes += run * chunkBytes * due.size();
        return run;
    }

    /**
     * Rebuilds chunk after chunk from {@code chunk} for the due targets, about {@link #STEP_BYTES}
     * of them and not past {@code until} (where a run of holes may start); returns the chunks done.
     */
    private long rebuildChunks(long chunk, List<Member> due, long until) throws IOException {
        long chunks = Math.max(1, STEP_BYTES / ((long) chunkBytes * due.size()));
        long end = Math.min(memberChunks, Math.min(chunk + chunks, Math.max(chunk + 1, until)));
        if (stripes.rebuildsInRuns() && rebuildRuns(chunk, end, due)) {
            return end - chunk;
        }
        for (long c = chunk; c < end; c++) {
            List<Member> live = new ArrayList<>();
            for (Member t : due) {
                if (t.state() == MemberState.REBUILDING) {
                    live.add(t);
                }
            }
            if (live.isEmpty()) {
                return c - chunk;
            }
            if (!volume.isComplete()) {
                throw new IOException("array " + volume.name() + " has failed: " + volume.failedMembers()
                        + " members not in sync; the rebuild stops");
            }
            // Parity levels: one stripe for every target. Mirrors: each target's chunk is a copy of
            // its own volume chunk.
            Map<Long, List<Member>> byStripe = new java.util.LinkedHashMap<>();
            for (Member t : live) {
                byStripe.computeIfAbsent(stripes.stripeAt(t.slot(), c), k -> new ArrayList<>())
                        .add(t);
            }
            for (Map.Entry<Long, List<Member>> e : byStripe.entrySet()) {
                if (e.getKey() >= 0) {
                    rebuildStripe(e.getKey(), e.getValue(), c);
                } else {
                    for (Member t : e.getValue()) {
                        lifecycle.recovered(t, Math.min(memberBytes, (c + 1) * chunkBytes));
                    }
                }
            }
        }
        return end - chunk;
    }

    /**
     * Rebuilds {@code [chunk, end)} as two runs at once (see {@link StripeAccess#rebuildRun}), each
     * under all its stripes' locks, and moves the targets past both once both are written; false
     * when any of it must go stripe by stripe (the stripe-by-stripe pass then redoes the whole step,
     * which rewrites the same bytes).
     */
    private boolean rebuildRuns(long chunk, long end, List<Member> due) throws IOException {
        List<Member> live = new ArrayList<>();
        for (Member t : due) {
            if (t.state() == MemberState.REBUILDING) {
                live.add(t);
            }
        }
        if (live.isEmpty() || !volume.isComplete()) {
            return false;
        }
        long[] run = new long[(int) (end - chunk)];
        for (int i = 0; i < run.length; i++) {
            run[i] = chunk + i;
        }
        // All the step's locks are held until the targets have moved past it: a client write that
        // lands between the rebuild's write and the move would otherwise skip the target.
        try (StripeAccess.StripeLock lock = stripes.lockAll(run)) {
            long middle = end - chunk >= 2 ? chunk + (end - chunk) / 2 : end;
            java.util.concurrent.Future<Boolean> second = middle < end
                    ? HELPERS.submit(() -> stripes.rebuildRun(middle, (int) (end - middle), live))
                    : java.util.concurrent.CompletableFuture.completedFuture(true);
            boolean first;
            try {
                first = stripes.rebuildRun(chunk, (int) (middle - chunk), live);
            } finally {
                awaitQuietly(second);
            }
            if (!first || !join(second)) {
                return false;
            }
            for (Member t : live) {
                if (t.state() == MemberState.REBUILDING) {
                    lifecycle.recovered(t, Math.min(memberBytes, end * chunkBytes));
                }
            }
        }
        stripesRebuilt += end - chunk;
        return true;
    }

    private static void awaitQuietly(java.util.concurrent.Future<Boolean> f) {
        boolean interrupted = false;
        while (true) {
            try {
                f.get();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            } catch (java.util.concurrent.ExecutionException e) {
                break;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private static boolean join(java.util.concurrent.Future<Boolean> f) throws IOException {
        try {
            return f.get();
        } catch (java.util.concurrent.ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof IOException io) {
                throw io;
            }
            if (cause instanceof RuntimeException re) {
                throw re;
            }
            throw new IOException(cause);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("rebuild interrupted");
        }
    }

    private void rebuildStripe(long stripe, List<Member> targets, long chunk) throws IOException {
        try (StripeAccess.StripeLock lock = stripes.lock(stripe)) {
            LoadedStripe st = stripes.load(stripe);
            try {
                stripes.regenerate(st);
            } catch (IOException e) {
                long[] range = stripes.volumeRange(stripe);
                volume.noteLost(range[0], range[1], "rebuild of stripe " + stripe + ": " + e.getMessage());
                for (Member t : targets) {
                    lifecycle.recovered(t, Math.min(memberBytes, (chunk + 1) * chunkBytes));
                }
                return;
            }
            for (Member t : targets) {
                stripes.rewrite(st, stripes.positionOf(stripe, t.slot()), t);
            }
            // md's read-error correction on the survivors that failed to read their block.
            for (int position = 0; position < st.positions(); position++) {
                if (st.unreadable(position) && !isTargetPosition(st, position, targets)) {
                    stripes.rewrite(st, position);
                }
            }
            for (Member t : targets) {
                if (t.state() == MemberState.REBUILDING) {
                    lifecycle.recovered(t, Math.min(memberBytes, (chunk + 1) * chunkBytes));
                }
            }
        }
        stripesRebuilt++;
    }

    private static boolean isTargetPosition(LoadedStripe st, int position, List<Member> targets) {
        for (Member t : targets) {
            if (st.slot(position) == t.slot()) {
                return true;
            }
        }
        return false;
    }

    /** Marks finished targets in sync; makes progress durable when it is time. */
    private void finishOrCheckpoint(List<Member> targets) throws IOException {
        long now = clock.getAsLong();
        boolean checkpoint = now - lastCheckpointNanos >= CHECKPOINT_NANOS;
        for (Member t : targets) {
            if (t.state() != MemberState.REBUILDING) {
                continue;
            }
            if (t.recoveredBytes() >= memberBytes) {
                lifecycle.markInSync(t, stripes::drain);
                seen.put(t, true);
                LOG.log(
                        Level.INFO,
                        "array {0}: {1} rebuilt ({2} stripes regenerated, {3} bytes recorded as holes)",
                        volume.name(),
                        t.name(),
                        stripesRebuilt,
                        holeBytes);
            } else if (checkpoint) {
                lifecycle.checkpoint(t);
            }
        }
        if (checkpoint) {
            lastCheckpointNanos = now;
        }
    }

    /** Bytes of the targets in sync so far. */
    private long progressBytes() {
        long done = 0;
        for (Map.Entry<Member, Boolean> e : seen.entrySet()) {
            Member m = e.getKey();
            done += e.getValue() || m.state() == MemberState.ACTIVE
                    ? memberBytes
                    : Math.min(memberBytes, m.recoveredBytes());
        }
        return done;
    }

    @Override
    public boolean done() {
        synchronized (scheduling) {
            if (!finished && lifecycle.roster().rebuilding().isEmpty()) {
                finished = true;
            }
            return finished;
        }
    }

    /** Whether this agent has ended (a member that starts rebuilding later needs a new agent). */
    public boolean finished() {
        synchronized (scheduling) {
            return finished;
        }
    }

    /** Bytes rebuilt per new member (the mean when several are rebuilt together). */
    @Override
    public long doneBytes() {
        for (Member t : lifecycle.roster().rebuilding()) {
            seen.putIfAbsent(t, false);
        }
        return seen.isEmpty() ? 0 : progressBytes() / seen.size();
    }

    /** A member's data area: what each new member gets. */
    @Override
    public long totalBytes() {
        return memberBytes;
    }

    @Override
    public void stopped(Throwable cause) {
        synchronized (scheduling) {
            finished = true;
        }
        // Keep what was done: the next start resumes from here.
        for (Member t : lifecycle.roster().rebuilding()) {
            try {
                lifecycle.checkpoint(t);
            } catch (IOException e) {
                LOG.log(
                        Level.WARNING,
                        "array {0}: checkpoint of {1} failed: {2}",
                        volume.name(),
                        t.name(),
                        e.getMessage());
            }
        }
    }
}
