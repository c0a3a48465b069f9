package io.raidd.raid.volume;

import io.raidd.blockdev.BlockDevice;
import io.raidd.blockdev.Extent;
import io.raidd.raid.event.EventSink;
import io.raidd.raid.layout.Geometry;
import io.raidd.raid.member.ArrayMetadata;
import io.raidd.raid.member.IoBatch;
import io.raidd.raid.member.Member;
import io.raidd.raid.member.MemberLifecycle;
import io.raidd.raid.member.MemberState;
import io.raidd.raid.member.MemberWatchdog;
import io.raidd.raid.member.Operation;
import io.raidd.raid.parity.ParityKernel;
import io.raidd.raid.parity.ParityKernels;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An md array as a {@link BlockDevice}: byte-granular, many concurrent callers, degraded operation
 * when members fail. The level-specific mapping lives in {@link ParityEngine} (RAID-4/5/6) and
 * {@link MirrorEngine} (RAID-0/1/10); this class owns validation, the clean/dirty state, flush and
 * lifecycle.
 */
public final class RaidVolume implements BlockDevice {
    private static final System.Logger LOG = System.getLogger("io.raidd.raid");

    private final String name;
    private final Geometry geometry;
    private final MemberLifecycle members;
    private final MemberWatchdog watchdog;
    private final VolumeEngine engine;
    private final ArrayMetadata metadata;
    private final int logicalBlockSizeBytes;
    private final Object stateLock = new Object();
    private volatile boolean dirty;
    /**
     * Writes hold it shared; the switch back to clean holds it exclusively (see tryMarkClean). Not
     * tied to threads, so the rescuer of an abandoned write can release its share.
     */
    private final java.util.concurrent.locks.StampedLock writeGate = new java.util.concurrent.locks.StampedLock();

    private final java.util.function.LongSupplier nanoClock;
    private final long safeModeDelayNs;
    private volatile long lastWriteNanos;
    private volatile boolean resyncPending;
    /** Foreground operations started, and those not finished yet (background work backs off for them). */
    private final AtomicLong foregroundStarted = new AtomicLong();

    private final java.util.concurrent.atomic.AtomicInteger foregroundInFlight =
            new java.util.concurrent.atomic.AtomicInteger();
    private volatile boolean closed;

    private final LostRanges lost = new LostRanges();
    /** Ranges whose redundancy a failed write may have left inconsistent (out of space): resync them. */
    private final LostRanges inconsistent = new LostRanges();

    private final EventSink events;

    private final AtomicLong readOps = new AtomicLong();
    private final AtomicLong writeOps = new AtomicLong();
    private final AtomicLong bytesRead = new AtomicLong();
    private final AtomicLong bytesWritten = new AtomicLong();

    private RaidVolume(Builder b) {
        this.name = b.name;
        this.geometry = b.geometry;
        this.metadata = b.metadata;
        this.events = b.events;
        List<Member> list = new ArrayList<>();
        int blockSize = 512;
        for (int slot = 0; slot < geometry.raidDisks(); slot++) {
            Member m = b.members[slot] != null ? b.members[slot] : Member.missing(slot);
            if (m.device() != null) {
                blockSize = Math.max(blockSize, m.device().logicalBlockSizeBytes());
            }
            list.add(m);
        }
        this.logicalBlockSizeBytes = blockSize;
        for (Member m : b.replacements) {
            blockSize = Math.max(blockSize, m.device().logicalBlockSizeBytes());
        }
        for (Member m : b.spares) {
            blockSize = Math.max(blockSize, m.device().logicalBlockSizeBytes());
        }
        this.members = new MemberLifecycle(
                name,
                geometry,
                list,
                b.replacements,
                b.spares,
                b.metadata,
                b.events,
                b.config.memberTimeoutNs(),
                b.config.ioThreadsPerMember());
        try {
            members.integrity(new io.raidd.raid.member.TagCache(b.config.tagCacheBytes()), b.config.verifyReads());
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("array " + name + ": integrity tags: " + e.getMessage(), e);
        }
        this.watchdog = new MemberWatchdog(name, members, b.config.memberTimeoutNs());
        this.watchdog.start();
        if (geometry.parityLayout() != null) {
            this.engine = new ParityEngine(
                    name,
                    geometry.parityLayout(),
                    geometry.chunkBytes(),
                    geometry.memberUsedBytes(),
                    members,
                    b.kernel);
        } else {
            this.engine = new MirrorEngine(
                    name, geometry.mirrorLayout(), geometry.chunkBytes(), geometry.volumeSizeBytes(), members);
        }
        this.dirty = !b.clean;
        this.resyncPending = !b.clean && engine.stripes().stripeCount() > 0;
        if (resyncPending) {
            // Data and tags are written apart: after an unclean stop a tag may not match what was
            // written just before it. The resync recomputes them; until it passes, they are not checked.
            for (Member m : members.roster().everyMember()) {
                if (m.tags() != null) {
                    m.tags().trustBelow(0);
                }
            }
        }
        this.nanoClock = b.nanoClock;
        this.safeModeDelayNs = b.config.safeModeDelayNs();
        this.lastWriteNanos = nanoClock.getAsLong();
    }

    public static Builder builder(String name, Geometry geometry) {
        return new Builder(name, geometry);
    }

    /** Assembles a volume from its members; slots not given are missing. */
    public static final class Builder {
        private final String name;
        private final Geometry geometry;
        private final Member[] members;
        private final List<Member> replacements = new ArrayList<>();
        private final List<Member> spares = new ArrayList<>();
        private ParityKernel kernel = ParityKernels.best();
        private ArrayMetadata metadata = ArrayMetadata.NONE;
        private EventSink events = EventSink.NONE;
        private RaidVolumeConfig config = RaidVolumeConfig.DEFAULT;
        private boolean clean = true;
        private java.util.function.LongSupplier nanoClock = System::nanoTime;

        private Builder(String name, Geometry geometry) {
            this.name = name;
            this.geometry = geometry;
            this.members = new Member[geometry.raidDisks()];
        }

        public Builder config(RaidVolumeConfig config) {
            this.config = config;
            return this;
        }

        /** An active member in {@code slot}. */
        public Builder member(int slot, String memberName, BlockDevice device, long dataOffsetBytes) {
            return member(slot, memberName, device, dataOffsetBytes, -1);
        }

        /**
         * A member in {@code slot}: active when {@code recoveredBytes} is negative, else being rebuilt
         * with its data in sync below {@code recoveredBytes} (md's recovery_offset).
         */
        public Builder member(
                int slot, String memberName, BlockDevice device, long dataOffsetBytes, long recoveredBytes) {
            if (members[slot] != null) {
                throw new IllegalArgumentException("slot " + slot + " given twice");
            }
            checkSize(memberName, device, dataOffsetBytes);
            members[slot] = Member.assembled(
                    slot,
                    memberName,
                    device,
                    dataOffsetBytes,
                    config.ioThreadsPerMember(),
                    recoveredBytes < 0 ? MemberState.ACTIVE : MemberState.REBUILDING,
                    Math.max(0, recoveredBytes));
            return this;
        }

        /** A hot-replace target of {@code slot}'s member, in sync below {@code recoveredBytes}. */
        public Builder replacement(
                int slot, String memberName, BlockDevice device, long dataOffsetBytes, long recoveredBytes) {
            checkSize(memberName, device, dataOffsetBytes);
            replacements.add(Member.assembled(
                    slot,
                    memberName,
                    device,
                    dataOffsetBytes,
                    config.ioThreadsPerMember(),
                    MemberState.REBUILDING,
                    recoveredBytes));
            return this;
        }

        /** A spare: rebuilt into the first slot that needs it. */
        public Builder spare(String memberName, BlockDevice device, long dataOffsetBytes) {
            checkSize(memberName, device, dataOffsetBytes);
            spares.add(Member.assembled(
                    -1, memberName, device, dataOffsetBytes, config.ioThreadsPerMember(), MemberState.SPARE, 0));
            return this;
        }

        private void checkSize(String memberName, BlockDevice device, long dataOffsetBytes) {
            if (device.sizeBytes() < dataOffsetBytes + geometry.memberUsedBytes()) {
                throw new IllegalArgumentException("member " + memberName + " is too small: " + device.sizeBytes()
                        + " bytes, needs " + (dataOffsetBytes + geometry.memberUsedBytes()));
            }
        }

        public Builder kernel(ParityKernel kernel) {
            this.kernel = kernel;
            return this;
        }

        public Builder metadata(ArrayMetadata metadata) {
            this.metadata = metadata;
            return this;
        }

        /** Where member transitions and other events of the array are announced. */
        public Builder events(EventSink events) {
            this.events = events;
            return this;
        }

        /** Whether the array was shut down cleanly; if not, redundancy is resynced. */
        public Builder clean(boolean clean) {
            this.clean = clean;
            return this;
        }

        /** Time source for the safe-mode delay; tests drive it by hand. */
        public Builder nanoClock(java.util.function.LongSupplier nanoClock) {
            this.nanoClock = nanoClock;
            return this;
        }

        public RaidVolume build() {
            return new RaidVolume(this);
        }
    }

    public String name() {
        return name;
    }

    public Geometry geometry() {
        return geometry;
    }

    /** Members by slot. */
    public List<Member> members() {
        return members.all();
    }

    /** Slots whose member is not in sync (faulty, missing, rebuilding). */
    public int failedMembers() {
        return geometry.raidDisks() - members.activeCount();
    }

    /**
     * Fails the member in {@code slot} as an I/O error would (recorded in the superblocks); the
     * volume goes on from redundancy.
     */
    public void fail(int slot, String reason) throws IOException {
        members.fail(members.get(slot), reason);
    }

    /** True while every byte can still be read: not more members lost than the level tolerates. */
    public boolean isComplete() {
        return engine.complete();
    }

    public boolean isDirty() {
        return dirty;
    }

    /** True until a resync after an unclean shutdown has walked the whole array. */
    public boolean resyncPending() {
        return resyncPending;
    }

    public long readOps() {
        return readOps.get();
    }

    public long writeOps() {
        return writeOps.get();
    }

    public long bytesRead() {
        return bytesRead.get();
    }

    public long bytesWritten() {
        return bytesWritten.get();
    }

    @Override
    public long sizeBytes() {
        return geometry.volumeSizeBytes();
    }

    @Override
    public int logicalBlockSizeBytes() {
        return logicalBlockSizeBytes;
    }

    @Override
    public void read(long offsetBytes, ByteBuffer dst) throws IOException {
        ensureOpen();
        int length = dst.remaining();
        checkRange(offsetBytes, length);
        refuseLost(offsetBytes, length);
        try (Entry entry = enter(false)) {
            engine.read(offsetBytes, dst);
        }
        readOps.incrementAndGet();
        bytesRead.addAndGet(length);
    }

    /**
     * A foreground operation inside the volume: counted as foreground activity (background work
     * backs off for it) and, for a change, a share of the write gate. Released once, by the
     * operation when it ends, or by its rescuer when it was abandoned in a hung member.
     */
    private final class Entry implements Operation.Hold, AutoCloseable {
        private final long stamp;
        private final Operation operation;
        private final java.util.concurrent.atomic.AtomicBoolean released =
                new java.util.concurrent.atomic.AtomicBoolean();

        Entry(long stamp, Operation operation) {
            this.stamp = stamp;
            this.operation = operation;
        }

        @Override
        public void release() {
            if (released.compareAndSet(false, true)) {
                foregroundInFlight.decrementAndGet();
                if (stamp != 0) {
                    lastWriteNanos = nanoClock.getAsLong();
                    writeGate.unlockRead(stamp);
                }
            }
        }

        @Override
        public void close() {
            if (operation != null) {
                operation.released(this);
            }
            release();
        }
    }

    private Entry enter(boolean change) {
        long stamp = change ? writeGate.readLock() : 0;
        foregroundStarted.incrementAndGet();
        foregroundInFlight.incrementAndGet();
        Entry e = new Entry(stamp, Operation.current());
        if (e.operation != null) {
            e.operation.hold(e);
        }
        return e;
    }

    /**
     * Runs the call on the calling thread with member I/O allowed inline (no thread hand-offs); if
     * a member hangs under it, the call is run again from the other members on a rescue thread and
     * that outcome is delivered, while the stuck thread's is discarded (see {@link Operation}).
     */
    @Override
    public <T> void runRescuable(io.raidd.blockdev.RescuableCall<T> call) {
        Operation operation = new Operation(() -> {
            T value = null;
            Throwable failure = null;
            try {
                value = call.run();
            } catch (Throwable t) {
                failure = t;
            }
            call.done(value, failure);
        });
        Object[] outcome = new Object[2];
        operation.runHere(() -> {
            try {
                outcome[0] = call.run();
            } catch (Throwable t) {
                outcome[1] = t;
            }
        });
        @SuppressWarnings("unchecked")
        T value = (T) outcome[0];
        if (operation.finish()) {
            call.done(value, (Throwable) outcome[1]);
        } else {
            call.discard(value);
        }
    }

    /** Foreground operations (reads, writes, zeroing) started since the volume opened. */
    public long foregroundOperations() {
        return foregroundStarted.get();
    }

    /** Foreground operations running now. */
    public int foregroundInFlight() {
        return foregroundInFlight.get();
    }

    /** A read from members' memory when every piece is cached there; see {@link BlockDevice#readIfCached}. */
    @Override
    public boolean readIfCached(long offsetBytes, ByteBuffer dst) {
        int lengthBytes = dst.remaining();
        if (closed || offsetBytes < 0 || offsetBytes > sizeBytes() - lengthBytes) {
            return false;
        }
        if (!lost.isEmpty() && lost.overlap(offsetBytes, lengthBytes) != null) {
            return false; // the blocking path reports it
        }
        int base = dst.position();
        if (!engine.readIfCached(offsetBytes, dst)) {
            dst.position(base);
            return false;
        }
        readOps.incrementAndGet();
        bytesRead.addAndGet(lengthBytes);
        return true;
    }

    /** A change to the volume's contents, run by {@link #modify}. */
    private interface Modification {
        void run() throws IOException;
    }

    /**
     * Runs a change of {@code [offsetBytes, offsetBytes + lengthBytes)} under the write gate, with
     * the array marked dirty first and the time of the last write kept for safe mode.
     */
    private void modify(long offsetBytes, long lengthBytes, Modification change) throws IOException {
        ensureOpen();
        checkRange(offsetBytes, lengthBytes);
        try (Entry entry = enter(true)) {
            ensureDirty();
            change.run();
            lost.covered(offsetBytes, lengthBytes);
        } catch (io.raidd.blockdev.NoSpaceException e) {
            // Some members took the write and some did not: redundancy over the range is unknown
            // until it is resynced, which happens once writes find space again.
            inconsistent.add(offsetBytes, Math.max(1, lengthBytes));
            LOG.log(
                    System.Logger.Level.WARNING,
                    "array {0}: write of {1}+{2} refused: {3}; resyncing that range once space is back",
                    name,
                    String.valueOf(offsetBytes),
                    String.valueOf(lengthBytes),
                    e.getMessage());
            throw e;
        }
    }

    @Override
    public void write(long offsetBytes, ByteBuffer src) throws IOException {
        int length = src.remaining();
        modify(offsetBytes, length, () -> engine.write(offsetBytes, src));
        writeOps.incrementAndGet();
        bytesWritten.addAndGet(length);
    }

    /**
     * One write of the buffers' concatenation: stripes it covers whole are written as full stripes
     * even when their bytes come from several buffers (see {@link #optimalWriteBytes}).
     */
    @Override
    public void writeGathered(long offsetBytes, List<ByteBuffer> srcs) throws IOException {
        Gather src = Gather.of(srcs);
        modify(offsetBytes, src.lengthBytes(), () -> engine.writeGathered(offsetBytes, src));
        writeOps.incrementAndGet();
        bytesWritten.addAndGet(src.lengthBytes());
    }

    /** A full stripe for RAID-4/5/6 (data chunks only, as md's {@code optimal_io_size}); 0 otherwise. */
    @Override
    public int optimalWriteBytes() {
        if (geometry.parityLayout() == null) {
            return 0;
        }
        long stripe = (long) geometry.chunkBytes() * geometry.parityLayout().dataDisks();
        return stripe <= Integer.MAX_VALUE ? (int) stripe : 0;
    }

    @Override
    public void writeZeroes(long offsetBytes, long lengthBytes) throws IOException {
        modify(offsetBytes, lengthBytes, () -> engine.writeZeroes(offsetBytes, lengthBytes));
    }

    @Override
    public void discard(long offsetBytes, long lengthBytes) throws IOException {
        modify(offsetBytes, lengthBytes, () -> engine.discard(offsetBytes, lengthBytes));
    }

    @Override
    public List<Extent> allocation(long offsetBytes, long lengthBytes) throws IOException {
        ensureOpen();
        checkRange(offsetBytes, lengthBytes);
        if (lengthBytes == 0) {
            return List.of();
        }
        return engine.allocation(offsetBytes, lengthBytes);
    }

    /** Whether reads check the members' integrity tags (see {@link RaidVolumeConfig#verifyReads}). */
    public boolean verifyReads() {
        return members.verifyReads();
    }

    /** Makes every completed write durable on every usable member (fdatasync, in parallel). */
    @Override
    public void flush() throws IOException {
        ensureOpen();
        flushMembers();
    }

    private void flushMembers() throws IOException {
        IoBatch batch = new IoBatch();
        for (Member m : members.liveMembers()) {
            batch.flush(m);
        }
        members.failMembers(batch.await(members.timeoutNs()));
        if (!engine.complete()) {
            throw new IOException("array " + name + " has failed: " + failedMembers() + " members unavailable");
        }
    }

    /** Records "not clean" durably before the first write after a clean state. */
    private void ensureDirty() throws IOException {
        if (!dirty) {
            synchronized (stateLock) {
                if (!dirty) {
                    metadata.markDirty();
                    dirty = true;
                }
            }
            members.failUnresponsive();
        }
    }

    /**
     * md's safe mode: once no write has happened for the safe-mode delay, flush every member and
     * record the array clean, so that a crash while idle needs no resync. New writes wait while
     * this runs and mark the array dirty again first. Returns true when it marked the array clean.
     */
    public boolean tryMarkClean() throws IOException {
        if (!dirty || resyncPending || closed || !engine.complete() || !inconsistent.isEmpty()) {
            return false;
        }
        long exclusive = writeGate.tryWriteLock();
        if (exclusive == 0) {
            return false; // writes in flight: not idle
        }
        try {
            if (!dirty || resyncPending || closed || nanoClock.getAsLong() - lastWriteNanos < safeModeDelayNs) {
                return false;
            }
            flushMembers();
            synchronized (stateLock) {
                metadata.markClean();
                dirty = false;
            }
            return true;
        } finally {
            writeGate.unlockWrite(exclusive);
        }
    }

    /**
     * Records that {@code [offsetBytes, +lengthBytes)} could not be reconstructed: reads of it fail
     * from now on (until a write covers it), and a DataLost event says where.
     */
    public void noteLost(long offsetBytes, long lengthBytes, String why) {
        lost.add(offsetBytes, lengthBytes);
        LOG.log(
                System.Logger.Level.ERROR,
                "array {0}: volume bytes {1}+{2} lost: {3}",
                name,
                String.valueOf(offsetBytes),
                String.valueOf(lengthBytes),
                why);
        events.emit(io.raidd.raid.event.ArrayEvent.of(
                io.raidd.raid.event.EventType.DataLost,
                name,
                "",
                "volume bytes " + offsetBytes + "+" + lengthBytes + ": " + why));
    }

    /** Volume ranges whose redundancy must be resynced (a write failed half-way), as {offset, length}. */
    public List<long[]> inconsistentRanges() {
        return inconsistent.list();
    }

    /** Called by a resync that made {@code [offsetBytes, +lengthBytes)} consistent again. */
    public void resynced(long offsetBytes, long lengthBytes) {
        inconsistent.covered(offsetBytes, lengthBytes);
    }

    /** Volume ranges lost so far, as {offset, length}. */
    public List<long[]> lostRanges() {
        return lost.list();
    }

    private void refuseLost(long offsetBytes, long lengthBytes) throws IOException {
        long[] hit = lost.overlap(offsetBytes, lengthBytes);
        if (hit != null) {
            throw new IOException("array " + name + ": volume bytes " + hit[0] + "+" + hit[1]
                    + " were lost (they could not be reconstructed); write them again");
        }
    }

    /** Stripe-level access for background work (resync, rebuild, scrub). */
    public StripeAccess stripes() {
        return engine.stripes();
    }

    /** The members and their one place of transitions. */
    public MemberLifecycle lifecycle() {
        return members;
    }

    /** Called by the resync once it has walked the whole array: redundancy is consistent again. */
    public void resyncFinished() {
        resyncPending = false;
        // Every stripe's tags were recomputed on the way (StripeAccess#retag): they count again.
        for (Member m : members.roster().everyMember()) {
            if (m.tags() != null) {
                m.tags().trustBelow(Long.MAX_VALUE);
            }
        }
    }

    /** The safe-mode delay this volume was configured with (0: only at shutdown). */
    public long safeModeDelayNs() {
        return safeModeDelayNs;
    }

    private void ensureOpen() throws IOException {
        if (closed) {
            throw new IOException("volume " + name + " is closed");
        }
    }

    /**
     * Flushes, records a clean shutdown when redundancy is known consistent, and closes the members.
     */
    @Override
    public void close() throws IOException {
        synchronized (stateLock) {
            if (closed) {
                return;
            }
            closed = true;
        }
        // Wait for writes in flight (the NBD server drains before closing volumes; this is the backstop).
        long exclusive = writeGate.writeLock();
        try {
            if (dirty && engine.complete()) {
                flushMembers();
                if (!resyncPending && inconsistent.isEmpty()) {
                    metadata.markClean();
                    dirty = false;
                }
            }
        } finally {
            writeGate.unlockWrite(exclusive);
            watchdog.close();
            members.close();
        }
    }

    @Override
    public String toString() {
        return "RaidVolume[" + name + ", level " + geometry.level() + ", " + geometry.raidDisks() + " members, "
                + failedMembers() + " failed]";
    }
}
