package io.raidd.scrubber;

import io.raidd.raid.agent.Agent;
import io.raidd.raid.event.ArrayEvent;
import io.raidd.raid.event.EventSink;
import io.raidd.raid.event.EventType;
import io.raidd.raid.layout.Geometry;
import io.raidd.raid.member.Member;
import io.raidd.raid.volume.LoadedStripe;
import io.raidd.raid.volume.StripeAccess;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A scrub of one volume as an {@link Agent}: each step takes a few stripes in volume order, each
 * under its stripe lock, reads every position as the members hold it (tags are checked here, by
 * the {@link FindingClassifier}, not by the read), and in repair mode rewrites exactly the blocks
 * proven bad and records the tags proven missing or wrong. Progress is in volume bytes; the cursor
 * is the next stripe, which {@link Scrubber} checkpoints.
 */
public final class ScrubAgent implements Agent {
    /**
     * Volume bytes per step: a few stripes per worker, so pause and throttling act within milliseconds
     * (a rate-limited scrub runs a step at full speed, then waits: small steps keep the bursts short).
     * 32 MiB measured no better than this on the bench machine, within its noise.
     */
    static final long STEP_BYTES = 8L << 20;

    /** Findings kept in memory (and reported) per scrub; beyond that they are only counted. */
    static final int MAX_FINDINGS = 10_000;

    private final String arrayName;
    private final StripeAccess access;
    private final EventSink events;
    private final boolean repair;
    /**
     * Stripes scrubbed at a time, so one stripe's reads overlap another's checks: twice the CPUs, at
     * most 4 (on the 2-vCPU bench machine 4 workers scrub at 0.23-0.26x the read floor, 2 at 0.14-0.18,
     * 1 at 0.17-0.18; system property raidd.scrub.workers overrides).
     */
    static final int WORKERS = Integer.getInteger(
            "raidd.scrub.workers",
            Math.max(1, Math.min(4, 2 * Runtime.getRuntime().availableProcessors())));

    private final FindingClassifier[] classifiers;
    private java.util.concurrent.ExecutorService pool;
    private final long stripes;
    private final long totalBytes;
    private volatile long cursor;
    private volatile long doneBytes;
    private volatile boolean stopRequested;
    private volatile boolean finished;
    private volatile Throwable failure;
    private final List<Finding> findings = new ArrayList<>();
    private long found;
    private long repaired;
    private long unresolved;
    private final Map<Integer, long[]> perSlot = new TreeMap<>();
    private volatile Runnable onStep;

    /**
     * @param startStripe where a resumed scrub continues (0 for a new one)
     * @param earlier findings of the part scrubbed before a restart
     * @param onStep called after each step (the {@link Scrubber} checkpoints from it)
     */
    ScrubAgent(
            String arrayName,
            StripeAccess access,
            Geometry geometry,
            EventSink events,
            boolean repair,
            boolean useTags,
            FindingClassifier.Policy policy,
            long startStripe,
            List<Finding> earlier,
            long[] earlierCounts,
            Runnable onStep) {
        this.arrayName = arrayName;
        this.access = access;
        this.events = events;
        this.repair = repair;
        java.util.Set<Long> tornSeen = java.util.concurrent.ConcurrentHashMap.newKeySet();
        this.classifiers = new FindingClassifier[WORKERS];
        for (int w = 0; w < WORKERS; w++) {
            classifiers[w] = new FindingClassifier(access, geometry, useTags, policy, tornSeen);
        }
        this.stripes = access.stripeCount();
        long bytes = 0;
        if (stripes > 0) {
            long[] first = access.volumeRange(0);
            long[] last = access.volumeRange(stripes - 1);
            bytes = first[1] * (stripes - 1) + last[1];
        }
        this.totalBytes = bytes;
        this.cursor = Math.min(startStripe, stripes);
        this.doneBytes = bytesBefore(cursor);
        this.onStep = onStep == null ? () -> {} : onStep;
        for (Finding f : earlier) {
            add(f);
        }
        if (earlierCounts != null) {
            found = Math.max(found, earlierCounts[0]);
            repaired = Math.max(repaired, earlierCounts[1]);
            unresolved = Math.max(unresolved, earlierCounts[2]);
        }
        this.finished = cursor >= stripes;
    }

    private long bytesBefore(long stripe) {
        if (stripe <= 0) {
            return 0;
        }
        if (stripe >= stripes) {
            return totalBytes;
        }
        return access.volumeRange(stripe)[0];
    }

    @Override
    public String action() {
        return repair ? "scrub-repair" : "scrub-check";
    }

    public boolean repair() {
        return repair;
    }

    @Override
    public long doWork() throws IOException {
        long before = doneBytes;
        long end = Math.min(stripes, cursor + Math.max(WORKERS, STEP_BYTES / Math.max(1, access.volumeRange(0)[1])));
        if (WORKERS == 1 || end - cursor < 2) {
            for (long s = cursor; s < end && !stopRequested; s++) {
                scrubStripe(s, classifiers[0]);
                cursor = s + 1;
            }
        } else {
            cursor = scrubInParallel(cursor, end);
        }
        doneBytes = bytesBefore(cursor);
        if (cursor >= stripes) {
            finished = true;
            shutdownPool();
        }
        onStep.run();
        return doneBytes - before;
    }

    /**
     * Scrubs {@code [from, end)} with {@link #WORKERS} threads, stripe {@code s} on worker {@code s %
     * WORKERS}, each under its own stripe lock; returns the first stripe not scrubbed (all before it
     * were).
     */
    private long scrubInParallel(long from, long end) throws IOException {
        if (pool == null) {
            pool = java.util.concurrent.Executors.newFixedThreadPool(WORKERS, r -> {
                Thread t = new Thread(r, "raidd-scrub");
                t.setDaemon(true);
                return t;
            });
        }
        List<java.util.concurrent.Future<Long>> parts = new ArrayList<>();
        for (int w = 0; w < WORKERS; w++) {
            final int worker = w;
            parts.add(pool.submit(() -> {
                for (long s = from + worker; s < end; s += WORKERS) {
                    if (stopRequested) {
                        return s;
                    }
                    scrubStripe(s, classifiers[worker]);
                }
                return end;
            }));
        }
        long next = end;
        IOException failed = null;
        for (java.util.concurrent.Future<Long> f : parts) {
            try {
                next = Math.min(next, f.get());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("scrub interrupted", e);
            } catch (java.util.concurrent.ExecutionException e) {
                Throwable c = e.getCause();
                failed = c instanceof IOException io ? io : new IOException(c);
            }
        }
        if (failed != null) {
            throw failed;
        }
        return next;
    }

    private void shutdownPool() {
        if (pool != null) {
            pool.shutdown();
            pool = null;
        }
    }

    private void scrubStripe(long stripe, FindingClassifier classifier) throws IOException {
        List<Finding> out;
        try (StripeAccess.StripeLock lock = access.lock(stripe)) {
            LoadedStripe st = access.load(stripe, Member.Verify.NEVER);
            FindingClassifier.Outcome outcome = classifier.classify(st);
            if (outcome.findings.isEmpty() && (!repair || outcome.actions.isEmpty())) {
                return;
            }
            out = new ArrayList<>(outcome.findings);
            if (repair) {
                for (FindingClassifier.Action a : outcome.actions) {
                    boolean ok;
                    if (a.rewrite()) {
                        ok = access.rewriteRange(st, a.position(), a.fromBytes(), a.lengthBytes()) > 0;
                    } else {
                        ok = retag(st, a);
                    }
                    if (ok && a.finding() != null) {
                        int i = indexOf(out, a.finding());
                        if (i >= 0) {
                            out.set(i, out.get(i).withRepaired(true));
                        }
                    }
                }
                for (int i = 0; i < out.size(); i++) {
                    Finding f = out.get(i);
                    if (f.cause() == Finding.Cause.TAG_CHECKSUM) {
                        // Its tags are recomputed page by page where parity proves the data (above);
                        // the rest stay unknown, which is the truth about them.
                        out.set(i, f.withRepaired(true));
                    }
                }
            }
        }
        for (Finding f : out) {
            add(f);
            events.emit(ArrayEvent.of(EventType.CorruptionFound, arrayName, f.member(), "scrub: " + f));
            if (f.repaired()) {
                events.emit(ArrayEvent.of(EventType.CorruptionRepaired, arrayName, f.member(), "scrub: " + f));
            }
        }
    }

    private static int indexOf(List<Finding> list, Finding f) {
        for (int i = 0; i < list.size(); i++) {
            if (list.get(i) == f) {
                return i;
            }
        }
        return -1;
    }

    private static boolean retag(LoadedStripe st, FindingClassifier.Action a) throws IOException {
        Member m = st.reader(a.position());
        if (m == null || m.tags() == null) {
            return false;
        }
        byte[] page = Arrays.copyOfRange(st.block(a.position()), a.fromBytes(), a.fromBytes() + a.lengthBytes());
        m.tags().retag(st.memberOffsetBytes(a.position()) + a.fromBytes(), page, a.lengthBytes());
        return true;
    }

    private synchronized void add(Finding f) {
        found++;
        if (f.repaired()) {
            repaired++;
        }
        if (f.unresolved()) {
            unresolved++;
        }
        long[] c = perSlot.computeIfAbsent(f.slot(), s -> new long[3]);
        c[0]++;
        c[1] += f.repaired() ? 1 : 0;
        c[2] += f.unresolved() ? 1 : 0;
        if (findings.size() < MAX_FINDINGS) {
            findings.add(f);
        }
    }

    void onStep(Runnable r) {
        this.onStep = r;
    }

    /** Stops after the current stripe (pause): the cursor says where to continue. */
    public void requestStop() {
        stopRequested = true;
    }

    public boolean stopRequested() {
        return stopRequested;
    }

    @Override
    public boolean done() {
        if (stopRequested) {
            shutdownPool();
        }
        return finished || stopRequested;
    }

    /** Whether every stripe was scrubbed. */
    public boolean finished() {
        return finished;
    }

    @Override
    public void stopped(Throwable cause) {
        shutdownPool();
        failure = cause;
        stopRequested = true;
        onStep.run();
    }

    public Throwable failure() {
        return failure;
    }

    public long cursor() {
        return cursor;
    }

    @Override
    public long doneBytes() {
        return doneBytes;
    }

    @Override
    public long totalBytes() {
        return totalBytes;
    }

    public synchronized List<Finding> findings() {
        return List.copyOf(findings);
    }

    /** {found, repaired, unresolved}. */
    public synchronized long[] counts() {
        return new long[] {found, repaired, unresolved};
    }

    /** Slot to {found, repaired, unresolved}. */
    public synchronized Map<Integer, long[]> perSlot() {
        Map<Integer, long[]> out = new TreeMap<>();
        perSlot.forEach((k, v) -> out.put(k, v.clone()));
        return out;
    }
}
