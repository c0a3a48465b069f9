package io.raidd.cli.daemon;

import io.raidd.blockdev.BlockDevice;
import io.raidd.blockdev.FaultInjectingBlockDevice;
import io.raidd.blockdev.FileBlockDevice;
import io.raidd.cli.control.ControlException;
import io.raidd.cli.control.ControlService;
import io.raidd.cli.control.VolumeStatus;
import io.raidd.raid.agent.RateLimits;
import io.raidd.raid.agent.SyncProgress;
import io.raidd.raid.event.ArrayEvent;
import io.raidd.raid.event.EventType;
import io.raidd.raid.member.Member;
import io.raidd.raid.member.MemberLifecycle;
import io.raidd.raid.member.MemberState;
import io.raidd.raid.member.Roster;
import io.raidd.raid.volume.RaidVolume;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/** {@link ControlService} over the daemon's volumes: what raidctl's online commands do. */
final class DaemonControl implements ControlService {
    private static final System.Logger LOG = System.getLogger("io.raidd.daemon");

    private final Daemon daemon;

    DaemonControl(Daemon daemon) {
        this.daemon = daemon;
    }

    private Daemon.Served served(String volume) throws ControlException {
        Daemon.Served s = daemon.served(volume);
        if (s == null) {
            List<String> names = new ArrayList<>();
            for (Daemon.Served x : daemon.served()) {
                names.add(x.volume().name());
            }
            throw new ControlException(
                    "no volume '" + volume + "' (this raidd serves " + String.join(", ", names) + ")");
        }
        return s;
    }

    private static Member member(Daemon.Served s, String reference) throws ControlException {
        try {
            return s.volume().lifecycle().find(reference);
        } catch (IllegalArgumentException e) {
            throw new ControlException(e.getMessage());
        }
    }

    // ----------------------------------------------------------------------------------- status

    @Override
    public List<VolumeStatus> status(String volume) throws ControlException {
        List<VolumeStatus> out = new ArrayList<>();
        if (volume != null) {
            out.add(status(served(volume)));
        } else {
            for (Daemon.Served s : daemon.served()) {
                out.add(status(s));
            }
        }
        return out;
    }

    static VolumeStatus status(Daemon.Served s) {
        RaidVolume v = s.volume();
        Roster r = v.lifecycle().roster();
        List<VolumeStatus.MemberStatus> members = new ArrayList<>();
        for (int slot = 0; slot < r.slots(); slot++) {
            members.add(member(r.primary(slot), slot, null));
            Member replacement = r.replacement(slot);
            if (replacement != null) {
                members.add(member(replacement, slot, r.primary(slot).name()));
            }
        }
        for (Member m : r.others()) {
            members.add(member(m, -1, null));
        }
        SyncProgress p = s.agents().runner().progress();
        VolumeStatus.SyncStatus sync = new VolumeStatus.SyncStatus(
                p.action(), p.doneBytes(), p.totalBytes(), p.bytesPerSecond(), p.etaSeconds(), p.pending());
        RateLimits limits = s.agents().runner().limits();
        List<String> lost = new ArrayList<>();
        for (long[] range : v.lostRanges()) {
            lost.add(range[0] + "+" + range[1]);
        }
        return new VolumeStatus(
                v.name(),
                s.array().uuid(),
                v.geometry().level(),
                v.geometry().layoutName(),
                v.geometry().chunkBytes(),
                v.sizeBytes(),
                state(v, r),
                v.isDirty(),
                members,
                sync,
                limits.minBytesPerSecond(),
                limits.maxBytesPerSecond(),
                lost,
                new VolumeStatus.IoCounters(v.readOps(), v.writeOps(), v.bytesRead(), v.bytesWritten()),
                integrity(v));
    }

    private static VolumeStatus.Integrity integrity(RaidVolume v) {
        io.raidd.raid.member.TagCache c = v.lifecycle().tagCache();
        return c == null
                ? null
                : new VolumeStatus.Integrity(
                        v.verifyReads(), c.capacityBytes(), c.heldBytes(), c.loads(), c.evictions());
    }

    private static String state(RaidVolume v, Roster r) {
        if (!v.isComplete()) {
            return "failed";
        }
        if (r.anyRebuilding()) {
            return "rebuilding";
        }
        if (v.resyncPending()) {
            return "resyncing";
        }
        if (r.activeCount() < r.slots()) {
            return "degraded";
        }
        return "clean";
    }

    private static VolumeStatus.MemberStatus member(Member m, int slot, String replacing) {
        boolean present = m.device() != null;
        return new VolumeStatus.MemberStatus(
                slot,
                present ? m.name() : "(missing)",
                m.state().label(),
                replacing,
                m.state() == MemberState.REBUILDING ? m.recoveredBytes() : -1,
                m.readErrors(),
                m.writeErrors(),
                m.timeouts(),
                m.correctedReads(),
                m.state() == MemberState.FAULTY || m.state() == MemberState.MISSING ? m.failureReason() : null,
                m.tags() == null ? 0 : m.tags().mismatches());
    }

    // -------------------------------------------------------------------------------- transitions

    @Override
    public String fail(String volume, String reference) throws ControlException {
        Daemon.Served s = served(volume);
        Member m = member(s, reference);
        try {
            return s.volume().lifecycle().failByOperator(m);
        } catch (IllegalArgumentException e) {
            throw new ControlException(e.getMessage());
        } catch (IOException e) {
            throw new ControlException("failing " + m.name() + ": " + IoErrors.reason(e));
        }
    }

    @Override
    public String remove(String volume, String reference) throws ControlException {
        Daemon.Served s = served(volume);
        Member m = member(s, reference);
        try {
            return s.volume().lifecycle().remove(m);
        } catch (IllegalArgumentException e) {
            throw new ControlException(e.getMessage());
        } catch (IOException e) {
            throw new ControlException("removing " + m.name() + ": " + IoErrors.reason(e));
        }
    }

    @Override
    public String add(String volume, String path) throws ControlException {
        Daemon.Served s = served(volume);
        MemberLifecycle lifecycle = s.volume().lifecycle();
        Opened opened = openNew(s, path);
        Member m;
        try {
            m = lifecycle.add(path, opened.device);
        } catch (IllegalArgumentException e) {
            opened.undo();
            throw new ControlException(e.getMessage());
        } catch (IOException | RuntimeException e) {
            opened.undo();
            throw new ControlException("adding " + path + ": " + IoErrors.reason(e));
        }
        return m.state() == MemberState.REBUILDING
                ? path + " added; rebuilding slot " + m.slot()
                : path + " added as a spare";
    }

    @Override
    public String replace(String volume, String oldReference, String newPath) throws ControlException {
        Daemon.Served s = served(volume);
        Member old = member(s, oldReference);
        Opened opened = openNew(s, newPath);
        try {
            Member m = s.volume().lifecycle().replace(old, newPath, opened.device);
            return newPath + " is being rebuilt to replace " + old.name() + " in slot " + m.slot();
        } catch (IllegalArgumentException e) {
            opened.undo();
            throw new ControlException(e.getMessage());
        } catch (IOException | RuntimeException e) {
            opened.undo();
            throw new ControlException("replacing " + old.name() + " with " + newPath + ": " + IoErrors.reason(e));
        }
    }

    /** A device opened (or created) for a new member; undone when the change is refused. */
    private static final class Opened {
        final BlockDevice device;
        final Path created;

        Opened(BlockDevice device, Path created) {
            this.device = device;
            this.created = created;
        }

        void undo() {
            try {
                device.close();
                if (created != null) {
                    Files.deleteIfExists(created);
                }
            } catch (IOException e) {
                LOG.log(Level.WARNING, "cleaning up after a refused member: {0}", e.getMessage());
            }
        }
    }

    /**
     * Opens a new member's path: an existing file or block device, or a new sparse image file of the
     * members' size. Refuses a path that is one of the volume's members already.
     */
    private Opened openNew(Daemon.Served s, String path) throws ControlException {
        Path p = Path.of(path);
        for (Member m : s.volume().lifecycle().roster().everyMember()) {
            if (m.device() != null && sameFile(Path.of(m.name()), p)) {
                throw new ControlException(path + " is already a member of array "
                        + s.volume().name() + " ("
                        + (m.slot() >= 0 ? "slot " + m.slot() : m.state().label()) + ")");
            }
        }
        try {
            if (Files.exists(p)) {
                return new Opened(daemon.open(p), null);
            }
            long size = membersSize(s.volume());
            FileBlockDevice.create(p, size).close();
            try {
                return new Opened(daemon.open(p), p);
            } catch (IOException | RuntimeException e) {
                Files.deleteIfExists(p);
                throw e;
            }
        } catch (IOException e) {
            throw new ControlException("cannot open " + path + ": " + IoErrors.reason(e));
        }
    }

    private static boolean sameFile(Path a, Path b) {
        try {
            if (!Files.exists(a) || !Files.exists(b)) {
                return a.toAbsolutePath().normalize().equals(b.toAbsolutePath().normalize());
            }
            Object ka = Files.readAttributes(a, BasicFileAttributes.class).fileKey();
            Object kb = Files.readAttributes(b, BasicFileAttributes.class).fileKey();
            return ka != null ? Objects.equals(ka, kb) : Files.isSameFile(a, b);
        } catch (IOException e) {
            return false;
        }
    }

    /** The size new image files get: that of the array's members (the first one with a device). */
    private static long membersSize(RaidVolume v) {
        for (Member m : v.lifecycle().roster().everyMember()) {
            if (m.device() != null) {
                return m.device().sizeBytes();
            }
        }
        throw new IllegalStateException("array " + v.name() + " has no member to size a new one by");
    }

    @Override
    public String rebuildLimits(String volume, Long minBytesPerSecond, Long maxBytesPerSecond) throws ControlException {
        Daemon.Served s = served(volume);
        RateLimits now = s.agents().runner().limits();
        long min = minBytesPerSecond != null ? minBytesPerSecond : now.minBytesPerSecond();
        long max = maxBytesPerSecond != null ? maxBytesPerSecond : now.maxBytesPerSecond();
        if (maxBytesPerSecond != null && minBytesPerSecond == null && min > max) {
            min = max;
        }
        if (minBytesPerSecond != null && maxBytesPerSecond == null && max < min) {
            max = min;
        }
        RateLimits limits;
        try {
            limits = new RateLimits(min, max);
        } catch (IllegalArgumentException e) {
            throw new ControlException(e.getMessage());
        }
        s.agents().runner().limits(limits);
        String text =
                "rebuild and resync of " + volume + ": at least " + DaemonConfig.formatRate(limits.minBytesPerSecond())
                        + " under load, at most " + DaemonConfig.formatRate(limits.maxBytesPerSecond()) + " when idle";
        LOG.log(Level.INFO, text);
        return text;
    }

    @Override
    public VolumeStatus await(String volume, long intervalMillis, Consumer<VolumeStatus> progress)
            throws ControlException, InterruptedException {
        Daemon.Served s = served(volume);
        long interval = Math.max(10, intervalMillis);
        while (s.agents().syncing()) {
            progress.accept(status(s));
            s.agents().awaitIdle(TimeUnit.MILLISECONDS.toNanos(interval));
        }
        return status(s);
    }

    @Override
    public ScrubReply scrub(String volume, String action, boolean repair) throws ControlException {
        Daemon.Served s = served(volume);
        io.raidd.scrubber.Scrubber scrubber = s.scrubber();
        String message;
        try {
            message = switch (action) {
                case "start" -> scrubber.start(repair);
                case "pause" -> scrubber.pause();
                case "resume" -> scrubber.resume();
                case "status" -> "scrub status of " + volume;
                default -> throw new ControlException("unknown scrub action '" + action + "'");
            };
        } catch (IllegalStateException e) {
            throw new ControlException(e.getMessage());
        }
        return new ScrubReply(message, scrubber.status());
    }

    @Override
    public AutoCloseable subscribe(Consumer<ArrayEvent> listener) {
        return daemon.events().subscribe(listener);
    }

    // ------------------------------------------------------------------------------- injection

    @Override
    public String inject(String volume, String reference, FaultSpec fault) throws ControlException {
        if (!daemon.config().allowFaultInjection()) {
            throw new ControlException("fault injection is off: start raidd with --allow-fault-injection");
        }
        Daemon.Served s = served(volume);
        Member m = member(s, reference);
        FaultInjectingBlockDevice d = m.device() == null ? null : daemon.injectable(m.device());
        if (d == null) {
            throw new ControlException(m.name() + " has no device to inject faults into");
        }
        long from = m.dataOffsetBytes() + fault.offsetBytes();
        long length = fault.lengthBytes() > 0
                ? fault.lengthBytes()
                : s.volume().geometry().memberUsedBytes() - fault.offsetBytes();
        String what;
        switch (fault.kind()) {
            case "fail" -> {
                d.failStop();
                what = "every I/O fails";
            }
            case "eio-read" -> {
                d.failReads(from, length);
                what = "reads of data bytes " + fault.offsetBytes() + "+" + length + " fail with EIO";
            }
            case "eio-write" -> {
                d.failWrites(from, length);
                what = "writes of data bytes " + fault.offsetBytes() + "+" + length + " fail with EIO";
            }
            case "hang" -> {
                d.hang();
                what = "I/O hangs until cleared";
            }
            case "slow" -> {
                d.latencyNs(TimeUnit.MILLISECONDS.toNanos(fault.millis()));
                what = "every I/O takes " + fault.millis() + " ms more";
            }
            case "flip-bits" -> what = flipBits(s.volume(), m, d, fault.count());
            case "clear" -> {
                d.clearErrors();
                d.clearFlips();
                d.latencyNs(0);
                d.release();
                what = "injected faults cleared";
            }
            default -> throw new ControlException("unknown fault '" + fault.kind() + "'");
        }
        String text = "injected into " + m.name() + " of " + volume + ": " + what;
        LOG.log(Level.WARNING, text);
        daemon.events().emit(ArrayEvent.of(EventType.FaultInjected, volume, m.name(), what));
        return text;
    }

    /**
     * Flips {@code count} bits, each in a random 4 KiB block of the member's data area, on the
     * device itself: silent corruption, as a decaying disk would return it.
     */
    private static String flipBits(RaidVolume v, Member m, FaultInjectingBlockDevice d, int count)
            throws ControlException {
        long seed = System.nanoTime();
        Random random = new Random(seed);
        long blocks = v.geometry().memberUsedBytes() / 4096;
        List<String> where = new ArrayList<>();
        try {
            for (int i = 0; i < count; i++) {
                long block = random.nextLong(blocks);
                int bit = random.nextInt(4096 * 8);
                long offset = m.dataOffsetBytes() + block * 4096 + bit / 8;
                ByteBuffer b = ByteBuffer.allocate(1);
                d.inner().read(offset, b);
                b.put(0, (byte) (b.get(0) ^ (1 << (bit % 8))));
                d.inner().write(offset, b.clear());
                if (where.size() < 8) {
                    where.add(String.valueOf(block * 4096 + bit / 8));
                }
            }
        } catch (IOException e) {
            throw new ControlException("flipping bits on " + m.name() + ": " + e.getMessage());
        }
        return count + " bits flipped (seed " + seed + ") at data offsets " + where + (count > 8 ? " ..." : "");
    }
}
