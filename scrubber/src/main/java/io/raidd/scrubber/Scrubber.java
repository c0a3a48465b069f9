package io.raidd.scrubber;

import io.raidd.raid.agent.Agent;
import io.raidd.raid.agent.AgentRunner;
import io.raidd.raid.agent.SyncProgress;
import io.raidd.raid.event.ArrayEvent;
import io.raidd.raid.event.EventType;
import io.raidd.raid.member.Member;
import io.raidd.raid.member.Roster;
import io.raidd.raid.volume.RaidVolume;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * A volume's scrubs: starts them on the volume's {@link AgentRunner} (one sync action at a time,
 * behind a resync or rebuild, at the runner's rates and with its back-off), pauses (the agent ends
 * at its cursor and leaves the runner free) and resumes, checkpoints the cursor and keeps the
 * history in the {@link ScrubStore}, continues a scrub a restart interrupted, and starts one every
 * {@code every} when scheduled.
 */
public final class Scrubber {
    private static final System.Logger LOG = System.getLogger("io.raidd.scrubber");

    /** The cursor is written at most this often while a scrub runs (and at every pause and end). */
    static final long CHECKPOINT_MILLIS = 1000;

    private final RaidVolume volume;
    private final AgentRunner runner;
    private final ScrubStore store;
    private final LongSupplier epochMillis;
    private final Duration every;
    private final boolean useTags;
    private final FindingClassifier.Policy policy;

    private ScrubRecord record;
    private ScrubAgent agent;
    private boolean queued;
    private long lastCheckpointMillis;

    Scrubber(
            RaidVolume volume,
            AgentRunner runner,
            Duration every,
            LongSupplier epochMillis,
            boolean useTags,
            FindingClassifier.Policy policy) {
        this.volume = volume;
        this.runner = runner;
        this.every = every;
        this.epochMillis = epochMillis;
        this.useTags = useTags;
        this.policy = policy;
        this.store = new ScrubStore(volume.name(), volume::members);
    }

    /**
     * The scrubber of a volume: reads the stored record and continues a scrub that a stop
     * interrupted (a paused one stays paused); schedules scrubs every {@code every} (null: never).
     */
    public static Scrubber open(RaidVolume volume, AgentRunner runner, Duration every) {
        Scrubber s =
                new Scrubber(volume, runner, every, System::currentTimeMillis, true, FindingClassifier.Policy.SAFE);
        s.restore();
        return s;
    }

    /** For tests: tags ignored (as on a volume whose tags are all unknown), or md's repair policy. */
    static Scrubber open(
            RaidVolume volume,
            AgentRunner runner,
            LongSupplier epochMillis,
            boolean useTags,
            FindingClassifier.Policy policy) {
        return open(volume, runner, null, epochMillis, useTags, policy);
    }

    static Scrubber open(
            RaidVolume volume,
            AgentRunner runner,
            Duration every,
            LongSupplier epochMillis,
            boolean useTags,
            FindingClassifier.Policy policy) {
        Scrubber s = new Scrubber(volume, runner, every, epochMillis, useTags, policy);
        s.restore();
        return s;
    }

    private synchronized void restore() {
        record = store.load(this::nameOf);
        if (!record.entries().isEmpty()) {
            ScrubRecord.Entry e = record.entries().get(0);
            if (e.state() == ScrubRecord.State.RUNNING || e.state() == ScrubRecord.State.STOPPED) {
                LOG.log(
                        System.Logger.Level.INFO,
                        "array {0}: continuing the {1} scrub from stripe {2}",
                        volume.name(),
                        e.repair() ? "repair" : "check",
                        record.cursorStripe());
                enqueue(e, record.cursorStripe());
            }
        }
        if (every != null && !every.isZero()) {
            long period = Math.min(every.toNanos(), Duration.ofMinutes(1).toNanos());
            runner.addPeriodic(new Agent() {
                @Override
                public String action() {
                    return "scrub-schedule";
                }

                @Override
                public long doWork() {
                    startIfDue();
                    return 0;
                }

                @Override
                public boolean done() {
                    return false;
                }

                @Override
                public long periodNanos() {
                    return period;
                }
            });
        }
    }

    private String nameOf(int slot) {
        Roster r = volume.lifecycle().roster();
        if (slot < 0 || slot >= r.slots()) {
            return "slot " + slot;
        }
        Member m = r.primary(slot);
        return m == null || m.name() == null ? "slot " + slot : m.name();
    }

    /** When the schedule starts the next scrub (epoch ms), or 0 when not scheduled. */
    public synchronized long nextScheduledMillis() {
        if (every == null || every.isZero()) {
            return 0;
        }
        return record.entries().isEmpty()
                ? epochMillis.getAsLong()
                : record.entries().get(0).startMillis() + every.toMillis();
    }

    synchronized void startIfDue() {
        if (agent != null || paused()) {
            return;
        }
        if (epochMillis.getAsLong() >= nextScheduledMillis()) {
            LOG.log(System.Logger.Level.INFO, "array {0}: scheduled scrub (every {1})", volume.name(), every);
            start(true);
        }
    }

    private boolean paused() {
        return !record.entries().isEmpty() && record.entries().get(0).state() == ScrubRecord.State.PAUSED;
    }

    /** Starts a scrub from the volume's beginning; refused while one runs or is paused. */
    public synchronized String start(boolean repair) {
        if (agent != null) {
            throw new IllegalStateException(
                    "a scrub of " + volume.name() + " is already running; " + "pause it or wait for it");
        }
        if (volume.stripes().stripeCount() == 0) {
            throw new IllegalStateException(volume.name() + " has no redundancy to scrub");
        }
        long now = epochMillis.getAsLong();
        ScrubRecord.Entry e =
                new ScrubRecord.Entry(now, 0, 0, 0, 0, 0, 0, 0, ScrubRecord.State.RUNNING, repair, Map.of(), List.of());
        boolean replace = paused();
        record = record.with(record.sequence() + 1, 0, e, replace);
        store.write(record);
        enqueue(e, 0);
        volume.lifecycle()
                .events()
                .emit(ArrayEvent.of(
                        EventType.ScrubStarted,
                        volume.name(),
                        "",
                        (repair ? "repair" : "check") + " of " + volume.sizeBytes() + " bytes"));
        return (repair ? "repair" : "check") + " scrub of " + volume.name() + " started";
    }

    private void enqueue(ScrubRecord.Entry e, long cursor) {
        ScrubAgent a = new ScrubAgent(
                volume.name(),
                volume.stripes(),
                volume.geometry(),
                volume.lifecycle().events(),
                e.repair(),
                useTags,
                policy,
                cursor,
                e.findings(),
                new long[] {e.found(), e.repaired(), e.unresolved()},
                null);
        agent = a;
        a.onStep(() -> stepped(a));
        lastCheckpointMillis = epochMillis.getAsLong();
        runner.enqueue(a);
    }

    /** Pauses the running scrub at its cursor (kept on disk: a restart keeps it paused). */
    public synchronized String pause() {
        if (agent == null) {
            throw new IllegalStateException("no scrub of " + volume.name() + " is running");
        }
        agent.requestStop();
        ScrubAgent a = agent;
        agent = null;
        record = record.with(record.sequence() + 1, a.cursor(), entryOf(a, ScrubRecord.State.PAUSED, 0), true);
        store.write(record);
        return "scrub of " + volume.name() + " paused at " + percent(a.doneBytes(), a.totalBytes());
    }

    /** Continues a paused scrub from its cursor. */
    public synchronized String resume() {
        if (agent != null) {
            throw new IllegalStateException("the scrub of " + volume.name() + " is running, not paused");
        }
        if (!paused()) {
            throw new IllegalStateException("no scrub of " + volume.name() + " is paused");
        }
        ScrubRecord.Entry e = record.entries().get(0).withState(ScrubRecord.State.RUNNING, 0);
        record = record.with(record.sequence() + 1, record.cursorStripe(), e, true);
        store.write(record);
        enqueue(e, record.cursorStripe());
        return "scrub of " + volume.name() + " resumed at " + percent(e.doneBytes(), e.totalBytes());
    }

    private static String percent(long done, long total) {
        return total <= 0 ? "0%" : String.format(java.util.Locale.ROOT, "%.1f%%", 100.0 * done / total);
    }

    /** After each step of {@code a}, and when the runner gives up on it. */
    private void stepped(ScrubAgent a) {
        ArrayEvent finished = null;
        synchronized (this) {
            if (a != agent) {
                return; // paused: already recorded
            }
            long now = epochMillis.getAsLong();
            if (a.finished() || a.failure() != null || a.stopRequested()) {
                ScrubRecord.State state = a.finished()
                        ? ScrubRecord.State.FINISHED
                        : a.failure() != null ? ScrubRecord.State.FAILED : ScrubRecord.State.STOPPED;
                ScrubRecord.Entry e = entryOf(a, state, state == ScrubRecord.State.STOPPED ? 0 : now);
                record = record.with(record.sequence() + 1, a.cursor(), e, true);
                store.write(record);
                agent = null;
                if (state != ScrubRecord.State.STOPPED) {
                    finished = ArrayEvent.of(
                            EventType.ScrubFinished,
                            volume.name(),
                            "",
                            state.label() + ": "
                                    + e.found() + " found, " + e.repaired() + " repaired, " + e.unresolved()
                                    + " unresolved, " + e.doneBytes() + " bytes in " + (now - e.startMillis()) + " ms"
                                    + (a.failure() != null ? " (" + a.failure().getMessage() + ")" : ""));
                }
            } else if (now - lastCheckpointMillis >= CHECKPOINT_MILLIS) {
                lastCheckpointMillis = now;
                record = record.with(record.sequence() + 1, a.cursor(), entryOf(a, ScrubRecord.State.RUNNING, 0), true);
                store.write(record);
            }
        }
        if (finished != null) {
            volume.lifecycle().events().emit(finished);
        }
    }

    private ScrubRecord.Entry entryOf(ScrubAgent a, ScrubRecord.State state, long end) {
        long start = record.entries().get(0).startMillis();
        long[] c = a.counts();
        long elapsed = Math.max(1, (end > 0 ? end : epochMillis.getAsLong()) - start);
        return new ScrubRecord.Entry(
                start,
                end,
                a.doneBytes(),
                a.totalBytes(),
                a.doneBytes() * 1000 / elapsed,
                c[0],
                c[1],
                c[2],
                state,
                a.repair(),
                a.perSlot(),
                a.findings());
    }

    /** Whether a scrub is queued or running. */
    public synchronized boolean running() {
        return agent != null;
    }

    /** The running or paused scrub, or else the last one. */
    public synchronized ScrubStatus status() {
        long next = nextScheduledMillis();
        List<ScrubStatus.Summary> history = new ArrayList<>();
        for (int i = agent != null || !record.entries().isEmpty() ? 1 : 0;
                i < record.entries().size();
                i++) {
            ScrubRecord.Entry e = record.entries().get(i);
            history.add(new ScrubStatus.Summary(
                    e.state().label(),
                    e.repair() ? "repair" : "check",
                    e.startMillis(),
                    e.endMillis(),
                    e.doneBytes(),
                    e.totalBytes(),
                    e.bytesPerSecond(),
                    e.found(),
                    e.repaired(),
                    e.unresolved(),
                    counts(e.perSlot())));
        }
        if (agent != null) {
            ScrubAgent a = agent;
            SyncProgress p = runner.progress();
            boolean current = p.action().equals(a.action()) && p.doneBytes() == a.doneBytes();
            String state = current || a.doneBytes() > 0 ? "running" : "queued";
            long rate = current ? p.bytesPerSecond() : 0;
            long[] c = a.counts();
            return new ScrubStatus(
                    volume.name(),
                    state,
                    a.repair() ? "repair" : "check",
                    a.doneBytes(),
                    a.totalBytes(),
                    rate,
                    rate > 0 ? Math.max(0, a.totalBytes() - a.doneBytes()) / rate : -1,
                    record.entries().get(0).startMillis(),
                    0,
                    c[0],
                    c[1],
                    c[2],
                    counts(a.perSlot()),
                    a.findings(),
                    history,
                    next,
                    null);
        }
        if (record.entries().isEmpty()) {
            return new ScrubStatus(
                    volume.name(), "never", "", 0, 0, 0, -1, 0, 0, 0, 0, 0, List.of(), List.of(), history, next, null);
        }
        ScrubRecord.Entry e = record.entries().get(0);
        return new ScrubStatus(
                volume.name(),
                e.state().label(),
                e.repair() ? "repair" : "check",
                e.doneBytes(),
                e.totalBytes(),
                e.bytesPerSecond(),
                -1,
                e.startMillis(),
                e.endMillis(),
                e.found(),
                e.repaired(),
                e.unresolved(),
                counts(e.perSlot()),
                e.findings(),
                history,
                next,
                null);
    }

    private List<ScrubStatus.MemberCounts> counts(Map<Integer, long[]> perSlot) {
        List<ScrubStatus.MemberCounts> out = new ArrayList<>();
        perSlot.forEach((slot, c) -> out.add(new ScrubStatus.MemberCounts(nameOf(slot), slot, c[0], c[1], c[2])));
        return out;
    }
}
