package io.raidd.blockdev;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * Wraps a device and misbehaves on command, for tests of everything above it. Every control
 * method is thread-safe and takes effect for I/O that starts after it returns.
 *
 * <p>Faults: fail-stop (optionally after N more operations), EIO on byte ranges for reads and/or
 * writes (latent sector errors; a successful write over a read-error range clears it, as a disk
 * remaps the sector), ENOSPC on byte ranges for writes ({@link NoSpaceException}: a sparse image on
 * a full file system), a device that disappears ({@link DeviceGoneException} from every call and
 * from {@link #checkIdentity}), silent corruption of stored bytes or of bytes returned by reads,
 * added latency, a hang until {@link #release()}, and a power cut that reverts every write not yet
 * flushed.
 */
public final class FaultInjectingBlockDevice implements BlockDevice {
    private static final int PRE_IMAGE_CHUNK_BYTES = 1 << 20;

    private final BlockDevice inner;

    private volatile boolean failStopped;
    private volatile boolean disappeared;
    private final AtomicLong opsUntilFailStop = new AtomicLong(-1);
    private final List<ErrorRange> errorRanges = new CopyOnWriteArrayList<>();
    private final List<ErrorRange> readFlips = new CopyOnWriteArrayList<>();
    private volatile long latencyNs;
    private volatile CountDownLatch hang;
    private final AtomicInteger hungCalls = new AtomicInteger();

    private final Object powerLock = new Object();
    /**
     * Held shared by every operation from its power check until it completes, and exclusively by
     * {@link #powerCut}, so an operation either finishes before the cut (and is reverted if
     * unflushed) or fails: none can succeed against a device whose power is off.
     */
    private final ReentrantReadWriteLock powerGate = new ReentrantReadWriteLock();

    // Volatile so readIfCached can look without taking powerLock, which is held during I/O.
    private volatile boolean powerTracking;
    private volatile boolean poweredOff;
    private final List<PreImage> unflushed = new ArrayList<>();

    private final AtomicLong reads = new AtomicLong();
    private final AtomicLong writes = new AtomicLong();
    private final AtomicLong gatheredWrites = new AtomicLong();
    private final AtomicLong flushes = new AtomicLong();
    private final AtomicLong failures = new AtomicLong();

    /** {@code noSpace}: writes fail with {@link NoSpaceException} instead of EIO. */
    private record ErrorRange(long offsetBytes, long lengthBytes, boolean reads, boolean writes, boolean noSpace) {
        ErrorRange(long offsetBytes, long lengthBytes, boolean reads, boolean writes) {
            this(offsetBytes, lengthBytes, reads, writes, false);
        }

        boolean overlaps(long off, long len) {
            return off < offsetBytes + lengthBytes && offsetBytes < off + len;
        }

        boolean within(long off, long len) {
            return off <= offsetBytes && offsetBytes + lengthBytes <= off + len;
        }
    }

    private record PreImage(long offsetBytes, byte[] bytes) {}

    public FaultInjectingBlockDevice(BlockDevice inner) {
        this.inner = inner;
    }

    public BlockDevice inner() {
        return inner;
    }

    // ------------------------------------------------------------------------------------ controls

    /** Every I/O from now on fails with IOException. */
    public void failStop() {
        failStopped = true;
    }

    /** Every I/O after the next {@code operations} ones fails. */
    public void failStopAfter(long operations) {
        opsUntilFailStop.set(operations);
    }

    /** Reads overlapping the range fail with EIO until a write covers it. */
    public void failReads(long offsetBytes, long lengthBytes) {
        errorRanges.add(new ErrorRange(offsetBytes, lengthBytes, true, false));
    }

    /** Writes overlapping the range fail with EIO. */
    public void failWrites(long offsetBytes, long lengthBytes) {
        errorRanges.add(new ErrorRange(offsetBytes, lengthBytes, false, true));
    }

    /**
     * Writes (and write-zeroes and discards) overlapping the range fail with {@link
     * NoSpaceException}, as writes into the holes of a sparse image on a full file system do, until
     * {@link #clearErrors()} (space freed). Reads and other ranges keep working.
     */
    public void failWithNoSpace(long offsetBytes, long lengthBytes) {
        errorRanges.add(new ErrorRange(offsetBytes, lengthBytes, false, true, true));
    }

    /**
     * The device is gone (unplugged, its image deleted or truncated): from now on every call, and
     * {@link #checkIdentity}, throws {@link DeviceGoneException}. Permanent, like {@link #failStop}:
     * {@link #clearErrors()} does not bring it back.
     */
    public void disappear() {
        disappeared = true;
    }

    /** Removes every read/write error range, EIO and no-space alike. */
    public void clearErrors() {
        errorRanges.clear();
    }

    /** Flips bits of the stored bytes in the range now (silent corruption at rest). */
    public void corrupt(long offsetBytes, int lengthBytes, long seed) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(lengthBytes);
        inner.read(offsetBytes, buf);
        byte[] bytes = buf.array();
        Random random = new Random(seed);
        for (int i = 0; i < lengthBytes; i++) {
            bytes[i] ^= (byte) (1 << random.nextInt(8));
        }
        inner.write(offsetBytes, ByteBuffer.wrap(bytes));
    }

    /** Reads of the range return flipped bits without touching the stored bytes. */
    public void flipOnRead(long offsetBytes, long lengthBytes) {
        readFlips.add(new ErrorRange(offsetBytes, lengthBytes, true, false));
    }

    public void clearFlips() {
        readFlips.clear();
    }

    /** Adds this much latency to every I/O. */
    public void latencyNs(long nanos) {
        latencyNs = nanos;
    }

    /** I/O blocks (without failing) until {@link #release()} or {@link #close()}. */
    public synchronized void hang() {
        // Reusing a pending latch keeps calls already hung on it releasable.
        if (hang == null) {
            hang = new CountDownLatch(1);
        }
    }

    /** Lets hung I/O continue and stops hanging new I/O. */
    public synchronized void release() {
        CountDownLatch h = hang;
        hang = null;
        if (h != null) {
            h.countDown();
        }
    }

    /** Calls currently blocked by {@link #hang()}. */
    public int hungCalls() {
        return hungCalls.get();
    }

    /** Starts remembering pre-images of writes so that {@link #powerCut} can revert them. */
    public void trackUnflushedWrites() {
        synchronized (powerLock) {
            powerTracking = true;
            unflushed.clear();
        }
    }

    /**
     * Reverts the device to its state at the last flush, keeping a seeded random subset of the
     * unflushed 512-byte sectors when {@code tornSeed} is non-null, and fails all I/O until
     * {@link #powerRestore()}.
     */
    public void powerCut(Long tornSeed) throws IOException {
        powerGate.writeLock().lock();
        try {
            powerCutLocked(tornSeed);
        } finally {
            powerGate.writeLock().unlock();
        }
    }

    private void powerCutLocked(Long tornSeed) throws IOException {
        synchronized (powerLock) {
            if (!powerTracking) {
                throw new IllegalStateException("call trackUnflushedWrites() before the writes to revert");
            }
            poweredOff = true;
            Random random = tornSeed == null ? null : new Random(tornSeed);
            for (int i = unflushed.size() - 1; i >= 0; i--) {
                PreImage pre = unflushed.get(i);
                for (int off = 0; off < pre.bytes().length; off += 512) {
                    int len = Math.min(512, pre.bytes().length - off);
                    if (random == null || random.nextBoolean()) {
                        inner.write(pre.offsetBytes() + off, ByteBuffer.wrap(pre.bytes(), off, len));
                    }
                }
            }
            unflushed.clear();
        }
    }

    public void powerRestore() {
        synchronized (powerLock) {
            poweredOff = false;
        }
    }

    public long reads() {
        return reads.get();
    }

    public long writes() {
        return writes.get();
    }

    public long flushes() {
        return flushes.get();
    }

    /**
     * Calls of {@link #writeGathered}, however many buffers each had; each buffer also counts as
     * one of {@link #writes}, and faults apply buffer by buffer.
     */
    public long gatheredWrites() {
        return gatheredWrites.get();
    }

    /** Operations that this wrapper failed. */
    public long failures() {
        return failures.get();
    }

    // ------------------------------------------------------------------------------------------ I/O

    /**
     * Applies hang, latency and injected failures. On return the caller holds the power gate's
     * read lock and must release it with {@link #after()} once its operation completes.
     */
    private void before(String op, long offsetBytes, long lengthBytes, boolean isRead, boolean isWrite)
            throws IOException {
        CountDownLatch h = hang;
        if (h != null) {
            hungCalls.incrementAndGet();
            try {
                h.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while hung", e);
            } finally {
                hungCalls.decrementAndGet();
            }
        }
        long delayNs = latencyNs;
        if (delayNs > 0) {
            // parkNanos may return early (spurious wake-up, unpark); the latency is a lower bound.
            long deadlineNs = System.nanoTime() + delayNs;
            for (long leftNs = delayNs; leftNs > 0; leftNs = deadlineNs - System.nanoTime()) {
                if (Thread.currentThread().isInterrupted()) {
                    throw new IOException("interrupted during injected latency");
                }
                LockSupport.parkNanos(leftNs);
            }
        }
        long left = opsUntilFailStop.getAndUpdate(v -> v > 0 ? v - 1 : v);
        if (left == 0) {
            failStopped = true;
        }
        powerGate.readLock().lock();
        boolean admitted = false;
        try {
            synchronized (powerLock) {
                if (poweredOff) {
                    failures.incrementAndGet();
                    throw new IOException("injected: power is off");
                }
            }
            if (disappeared) {
                failures.incrementAndGet();
                throw gone(op);
            }
            if (failStopped) {
                failures.incrementAndGet();
                throw new IOException("injected: device failed (fail-stop) on " + op);
            }
            for (ErrorRange r : errorRanges) {
                if (((isRead && r.reads()) || (isWrite && r.writes())) && r.overlaps(offsetBytes, lengthBytes)) {
                    failures.incrementAndGet();
                    if (r.noSpace()) {
                        throw new NoSpaceException(
                                "injected: " + op + " at " + offsetBytes + " (+" + lengthBytes + ")");
                    }
                    throw new IOException("injected: EIO on " + op + " at " + offsetBytes + " (+" + lengthBytes + ")");
                }
            }
            admitted = true;
        } finally {
            if (!admitted) {
                powerGate.readLock().unlock();
            }
        }
    }

    private static DeviceGoneException gone(String op) {
        return new DeviceGoneException("injected: device disappeared (" + op + ")");
    }

    private void after() {
        powerGate.readLock().unlock();
    }

    /** A write that covers a read-error range rewrites (remaps) those sectors. */
    private void afterWrite(long offsetBytes, long lengthBytes) {
        errorRanges.removeIf(r -> r.reads() && !r.writes() && r.within(offsetBytes, lengthBytes));
    }

    /** Saves what the range holds now, in chunks so that a huge discard needs no huge array. */
    private void rememberPreImage(long offsetBytes, long lengthBytes) throws IOException {
        synchronized (powerLock) {
            if (!powerTracking) {
                return;
            }
            for (long done = 0; done < lengthBytes; done += PRE_IMAGE_CHUNK_BYTES) {
                int chunkBytes = (int) Math.min(PRE_IMAGE_CHUNK_BYTES, lengthBytes - done);
                ByteBuffer old = ByteBuffer.allocate(chunkBytes);
                inner.read(offsetBytes + done, old);
                unflushed.add(new PreImage(offsetBytes + done, old.array()));
            }
        }
    }

    @Override
    public long sizeBytes() {
        return inner.sizeBytes();
    }

    @Override
    public int logicalBlockSizeBytes() {
        return inner.logicalBlockSizeBytes();
    }

    @Override
    public boolean isReadOnly() {
        return inner.isReadOnly();
    }

    @Override
    public void read(long offsetBytes, ByteBuffer dst) throws IOException {
        int length = dst.remaining();
        checkRange(offsetBytes, length);
        before("read", offsetBytes, length, true, false);
        try {
            int start = dst.position();
            inner.read(offsetBytes, dst);
            reads.incrementAndGet();
            for (ErrorRange r : readFlips) {
                long from = Math.max(offsetBytes, r.offsetBytes());
                long to = Math.min(offsetBytes + length, r.offsetBytes() + r.lengthBytes());
                for (long pos = from; pos < to; pos++) {
                    int index = start + (int) (pos - offsetBytes);
                    dst.put(index, (byte) (dst.get(index) ^ 0x01));
                }
            }
        } finally {
            after();
        }
    }

    /**
     * Delegates only while no fault of any kind is armed, so that every injected fault is met on the
     * blocking path, where it is counted and reported like a real one.
     */
    @Override
    public boolean readIfCached(long offsetBytes, ByteBuffer dst) {
        boolean armed = failStopped
                || disappeared
                || opsUntilFailStop.get() >= 0
                || !errorRanges.isEmpty()
                || !readFlips.isEmpty()
                || latencyNs > 0
                || hang != null
                || powerTracking
                || poweredOff;
        if (armed || !inner.readIfCached(offsetBytes, dst)) {
            return false;
        }
        reads.incrementAndGet();
        return true;
    }

    @Override
    public void write(long offsetBytes, ByteBuffer src) throws IOException {
        int length = src.remaining();
        checkRange(offsetBytes, length);
        before("write", offsetBytes, length, false, true);
        try {
            rememberPreImage(offsetBytes, length);
            inner.write(offsetBytes, src);
            writes.incrementAndGet();
            afterWrite(offsetBytes, length);
        } finally {
            after();
        }
    }

    @Override
    public void writeGathered(long offsetBytes, List<ByteBuffer> srcs) throws IOException {
        gatheredWrites.incrementAndGet();
        BlockDevice.super.writeGathered(offsetBytes, srcs);
    }

    @Override
    public void flush() throws IOException {
        before("flush", 0, 0, false, false);
        try {
            inner.flush();
            flushes.incrementAndGet();
            synchronized (powerLock) {
                unflushed.clear();
            }
        } finally {
            after();
        }
    }

    @Override
    public void discard(long offsetBytes, long lengthBytes) throws IOException {
        checkRange(offsetBytes, lengthBytes);
        before("discard", offsetBytes, lengthBytes, false, true);
        try {
            rememberPreImage(offsetBytes, lengthBytes);
            inner.discard(offsetBytes, lengthBytes);
        } finally {
            after();
        }
    }

    @Override
    public void writeZeroes(long offsetBytes, long lengthBytes) throws IOException {
        checkRange(offsetBytes, lengthBytes);
        before("write-zeroes", offsetBytes, lengthBytes, false, true);
        try {
            rememberPreImage(offsetBytes, lengthBytes);
            inner.writeZeroes(offsetBytes, lengthBytes);
            writes.incrementAndGet();
            afterWrite(offsetBytes, lengthBytes);
        } finally {
            after();
        }
    }

    @Override
    public long nextHoleBytes(long offsetBytes) throws IOException {
        before("allocation", offsetBytes, 0, false, false);
        try {
            return inner.nextHoleBytes(offsetBytes);
        } finally {
            after();
        }
    }

    @Override
    public List<Extent> allocation(long offsetBytes, long lengthBytes) throws IOException {
        checkRange(offsetBytes, lengthBytes);
        before("allocation", offsetBytes, lengthBytes, false, false);
        try {
            return inner.allocation(offsetBytes, lengthBytes);
        } finally {
            after();
        }
    }

    /** Gone once {@link #disappear()}ed; otherwise whatever the wrapped device says. */
    @Override
    public void checkIdentity() throws IOException {
        if (disappeared) {
            throw gone("identity check");
        }
        inner.checkIdentity();
    }

    @Override
    public void close() throws IOException {
        // Close first so that calls released from a hang fail instead of racing the close.
        try {
            inner.close();
        } finally {
            release();
        }
    }
}
