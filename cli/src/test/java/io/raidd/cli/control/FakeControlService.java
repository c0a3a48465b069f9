package io.raidd.cli.control;

import io.raidd.cli.control.VolumeStatus.MemberStatus;
import io.raidd.cli.control.VolumeStatus.SyncStatus;
import io.raidd.cli.daemon.EventHub;
import io.raidd.raid.event.ArrayEvent;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.function.Consumer;

/**
 * A {@link ControlService} over made-up volumes: every successful change is recorded in
 * {@link #changes()} (so tests can tell that a refused or malformed request changed nothing), and
 * events go through a real {@link EventHub}.
 */
public class FakeControlService implements ControlService {
    private final Map<String, VolumeStatus> volumes = new LinkedHashMap<>();
    private final List<String> changes = Collections.synchronizedList(new ArrayList<>());
    private final EventHub events = new EventHub();
    private volatile List<VolumeStatus> awaitScript = List.of();
    private volatile CountDownLatch awaitGate;
    private volatile boolean allowInjection;
    private final java.util.concurrent.atomic.AtomicInteger awaitsInterrupted =
            new java.util.concurrent.atomic.AtomicInteger();
    private final java.util.concurrent.atomic.AtomicInteger awaitsStarted =
            new java.util.concurrent.atomic.AtomicInteger();

    public FakeControlService() {
        put(volume(
                "vol0",
                6,
                "clean",
                idle(),
                member(0, "/d/d0.img", "active"),
                member(1, "/d/d1.img", "active"),
                member(2, "/d/d2.img", "active"),
                member(3, "/d/d3.img", "active")));
        put(volume("vol1", 1, "clean", idle(), member(0, "/d/m0.img", "active"), member(1, "/d/m1.img", "active")));
    }

    public static SyncStatus idle() {
        return new SyncStatus("idle", 0, 0, 0, -1, 0);
    }

    public static MemberStatus member(int slot, String path, String state) {
        return new MemberStatus(slot, path, state, null, -1, 0, 0, 0, 0, null);
    }

    public static VolumeStatus volume(String name, int level, String state, SyncStatus sync, MemberStatus... members) {
        long chunk = level == 1 ? 4096 : 512 * 1024;
        int data = level == 6 ? members.length - 2 : level == 1 ? 1 : members.length - 1;
        return new VolumeStatus(
                name,
                "a1b2c3d4:e5f60718:293a4b5c:6d7e8f90",
                level,
                level == 1 ? "-" : "left-symmetric",
                chunk,
                data * (1L << 30),
                state,
                false,
                List.of(members),
                sync,
                10L << 20,
                Long.MAX_VALUE,
                List.of(),
                VolumeStatus.IoCounters.NONE);
    }

    public synchronized void put(VolumeStatus v) {
        volumes.put(v.name(), v);
    }

    /** Successful changes, in order ("fail vol0 /d/d1.img"). */
    public List<String> changes() {
        synchronized (changes) {
            return List.copyOf(changes);
        }
    }

    public EventHub events() {
        return events;
    }

    public void allowInjection(boolean allow) {
        allowInjection = allow;
    }

    /** What the next await reports as progress before it returns its last element (or the current status). */
    public void awaitScript(List<VolumeStatus> script) {
        awaitScript = List.copyOf(script);
    }

    /** Awaits that reached their gate (after their progress). */
    public int awaitsStarted() {
        return awaitsStarted.get();
    }

    /** Awaits that were interrupted while blocked (the client left, or raidd stopped). */
    public int awaitsInterrupted() {
        return awaitsInterrupted.get();
    }

    /** Makes await block (after its progress) until the latch opens; null: it returns at once. */
    public void awaitGate(CountDownLatch gate) {
        awaitGate = gate;
    }

    @Override
    public synchronized List<VolumeStatus> status(String volume) throws ControlException {
        if (volume == null) {
            return List.copyOf(volumes.values());
        }
        return List.of(get(volume));
    }

    @Override
    public synchronized String fail(String volume, String member) throws ControlException {
        VolumeStatus v = get(volume);
        MemberStatus m = find(v, member);
        if (!m.state().equals("active")) {
            throw new ControlException(volume + ": " + m.path() + " is " + m.state() + " already");
        }
        long faulty =
                v.members().stream().filter(x -> !x.state().equals("active")).count();
        if (v.level() == 0 || faulty >= (v.level() == 6 ? 2 : 1)) {
            throw new ControlException(volume + ": failing " + m.path() + " would lose data");
        }
        replaceMember(
                v,
                m,
                new MemberStatus(m.slot(), m.path(), "faulty", null, -1, 0, 0, 0, 0, "failed by operator"),
                "degraded");
        return change("fail " + volume + " " + m.path(), volume + ": " + m.path() + " marked faulty");
    }

    @Override
    public synchronized String remove(String volume, String member) throws ControlException {
        VolumeStatus v = get(volume);
        MemberStatus m = find(v, member);
        if (m.state().equals("active") || m.state().equals("rebuilding")) {
            throw new ControlException(
                    volume + ": " + m.path() + " is " + m.state() + " and holds data; fail it first");
        }
        List<MemberStatus> ms = new ArrayList<>(v.members());
        ms.remove(m);
        put(with(v, ms, v.state()));
        return change("remove " + volume + " " + m.path(), volume + ": removed " + m.path());
    }

    @Override
    public synchronized String add(String volume, String path) throws ControlException {
        VolumeStatus v = get(volume);
        if (!path.startsWith("/")) {
            throw new ControlException("not an absolute path: " + path);
        }
        List<MemberStatus> ms = new ArrayList<>(v.members());
        ms.add(new MemberStatus(-1, path, "spare", null, -1, 0, 0, 0, 0, null));
        put(with(v, ms, v.state()));
        return change("add " + volume + " " + path, volume + ": added " + path + " as a spare");
    }

    @Override
    public synchronized String replace(String volume, String oldMember, String newPath) throws ControlException {
        VolumeStatus v = get(volume);
        MemberStatus m = find(v, oldMember);
        List<MemberStatus> ms = new ArrayList<>(v.members());
        ms.add(new MemberStatus(m.slot(), newPath, "rebuilding", m.path(), 0, 0, 0, 0, 0, null));
        put(with(v, ms, v.state()));
        return change(
                "replace " + volume + " " + m.path() + " " + newPath,
                volume + ": replacing " + m.path() + " with " + newPath);
    }

    @Override
    public synchronized String rebuildLimits(String volume, Long min, Long max) throws ControlException {
        VolumeStatus v = get(volume);
        long newMax = max != null ? max : v.rebuildMaxBytesPerSecond();
        long newMin = min != null ? min : Math.min(v.rebuildMinBytesPerSecond(), newMax);
        if (newMin > newMax) {
            throw new ControlException("minimum above maximum");
        }
        put(new VolumeStatus(
                v.name(),
                v.uuid(),
                v.level(),
                v.layout(),
                v.chunkBytes(),
                v.sizeBytes(),
                v.state(),
                v.dirty(),
                v.members(),
                v.sync(),
                newMin,
                newMax,
                v.lostRanges(),
                VolumeStatus.IoCounters.NONE));
        return change(
                "rebuild-limits " + volume + " " + min + " " + max,
                volume + ": rebuild rate min " + newMin + " max " + newMax + " B/s");
    }

    @Override
    public VolumeStatus await(String volume, long intervalMillis, Consumer<VolumeStatus> progress)
            throws ControlException, InterruptedException {
        VolumeStatus current;
        synchronized (this) {
            current = get(volume);
        }
        List<VolumeStatus> script = awaitScript;
        for (int i = 0; i < script.size() - 1; i++) {
            progress.accept(script.get(i));
        }
        awaitsStarted.incrementAndGet();
        CountDownLatch gate = awaitGate;
        if (gate != null) {
            try {
                gate.await();
            } catch (InterruptedException e) {
                awaitsInterrupted.incrementAndGet();
                throw e;
            }
        }
        return script.isEmpty() ? current : script.get(script.size() - 1);
    }

    @Override
    public AutoCloseable subscribe(Consumer<ArrayEvent> listener) {
        return events.subscribe(listener);
    }

    @Override
    public synchronized String inject(String volume, String member, FaultSpec fault) throws ControlException {
        VolumeStatus v = get(volume);
        MemberStatus m = find(v, member);
        if (!allowInjection) {
            throw new ControlException("fault injection is off (start raidd with --allow-fault-injection)");
        }
        return change(
                "inject " + volume + " " + m.path() + " " + fault,
                volume + ": " + fault.kind() + " injected into " + m.path());
    }

    private String change(String what, String message) {
        changes.add(what);
        return message;
    }

    private VolumeStatus get(String volume) throws ControlException {
        VolumeStatus v = volumes.get(volume);
        if (v == null) {
            throw new ControlException(
                    "no volume '" + volume + "' (volumes: " + String.join(", ", volumes.keySet()) + ")");
        }
        return v;
    }

    private static MemberStatus find(VolumeStatus v, String member) throws ControlException {
        for (MemberStatus m : v.members()) {
            if (m.path().equals(member) || Integer.toString(m.slot()).equals(member)) {
                return m;
            }
        }
        throw new ControlException(v.name() + " has no member '" + member + "'");
    }

    private void replaceMember(VolumeStatus v, MemberStatus old, MemberStatus now, String state) {
        List<MemberStatus> ms = new ArrayList<>(v.members());
        ms.set(ms.indexOf(old), now);
        put(with(v, ms, state));
    }

    private static VolumeStatus with(VolumeStatus v, List<MemberStatus> members, String state) {
        return new VolumeStatus(
                v.name(),
                v.uuid(),
                v.level(),
                v.layout(),
                v.chunkBytes(),
                v.sizeBytes(),
                state,
                v.dirty(),
                List.copyOf(members),
                v.sync(),
                v.rebuildMinBytesPerSecond(),
                v.rebuildMaxBytesPerSecond(),
                v.lostRanges(),
                VolumeStatus.IoCounters.NONE);
    }
}
