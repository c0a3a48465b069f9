package io.raidd.nbd;

import io.raidd.blockdev.BlockDevice;
import io.raidd.blockdev.Extent;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A device wrapper for tests: counts calls, fails on demand, and holds reads or writes at chosen
 * offsets until a test releases them, so replies can be forced out of order.
 */
final class TestDevice implements BlockDevice {
    private final BlockDevice delegate;
    final AtomicInteger reads = new AtomicInteger();
    final AtomicInteger writes = new AtomicInteger();
    final AtomicInteger durableWrites = new AtomicInteger();
    final AtomicInteger flushes = new AtomicInteger();
    final AtomicInteger discards = new AtomicInteger();
    final AtomicInteger writeZeroes = new AtomicInteger();
    final AtomicInteger allocations = new AtomicInteger();
    final AtomicReference<IOException> failNextIo = new AtomicReference<>();
    private final Map<Long, Gate> gates = new ConcurrentHashMap<>();
    volatile boolean readOnly;
    /** When set, reads the delegate can serve from memory are offered to {@link #readIfCached}. */
    volatile boolean cachedReads;

    final AtomicInteger cachedReadHits = new AtomicInteger();

    /** What {@link #optimalWriteBytes} reports; 0 (the default) keeps the server from joining writes. */
    volatile int optimalWriteBytes;

    /** Plain writes starting at this offset fail with EIO (also inside a gathered write); -1: none. */
    volatile long failWritesAt = -1;

    /** A {@link #writeGathered} call: where it started and how many buffers it was given. */
    record Gathered(long offsetBytes, int buffers) {}

    final List<Gathered> gathered = new java.util.concurrent.CopyOnWriteArrayList<>();

    /** Where a held request waits, and how a test knows it got there. */
    static final class Gate {
        final CountDownLatch entered = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);

        void awaitEntered() throws InterruptedException {
            if (!entered.await(30, TimeUnit.SECONDS)) {
                throw new AssertionError("request never reached the device");
            }
        }

        void open() {
            release.countDown();
        }
    }

    TestDevice(BlockDevice delegate) {
        this.delegate = delegate;
    }

    /** The next read or write starting at {@code offset} blocks until the gate opens. */
    Gate gate(long offset) {
        Gate g = new Gate();
        gates.put(offset, g);
        return g;
    }

    private void pass(long offset) throws IOException {
        IOException fail = failNextIo.getAndSet(null);
        if (fail != null) {
            throw fail;
        }
        Gate g = gates.remove(offset);
        if (g != null) {
            g.entered.countDown();
            try {
                if (!g.release.await(60, TimeUnit.SECONDS)) {
                    throw new IOException("gate at " + offset + " never opened");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException(e);
            }
        }
    }

    @Override
    public long sizeBytes() {
        return delegate.sizeBytes();
    }

    @Override
    public boolean isReadOnly() {
        return readOnly;
    }

    @Override
    public int logicalBlockSizeBytes() {
        return delegate.logicalBlockSizeBytes();
    }

    @Override
    public void read(long offsetBytes, ByteBuffer dst) throws IOException {
        reads.incrementAndGet();
        pass(offsetBytes);
        delegate.read(offsetBytes, dst);
    }

    @Override
    public boolean readIfCached(long offsetBytes, ByteBuffer dst) {
        if (!cachedReads || !delegate.readIfCached(offsetBytes, dst)) {
            return false;
        }
        cachedReadHits.incrementAndGet();
        return true;
    }

    @Override
    public void write(long offsetBytes, ByteBuffer src) throws IOException {
        writes.incrementAndGet();
        pass(offsetBytes);
        if (offsetBytes == failWritesAt) {
            throw new IOException("injected write error at " + offsetBytes);
        }
        delegate.write(offsetBytes, src);
    }

    /** Recorded, then written buffer by buffer through {@link #write}. */
    @Override
    public void writeGathered(long offsetBytes, List<ByteBuffer> srcs) throws IOException {
        gathered.add(new Gathered(offsetBytes, srcs.size()));
        BlockDevice.super.writeGathered(offsetBytes, srcs);
    }

    @Override
    public int optimalWriteBytes() {
        return optimalWriteBytes;
    }

    @Override
    public void writeDurable(long offsetBytes, ByteBuffer src) throws IOException {
        durableWrites.incrementAndGet();
        pass(offsetBytes);
        delegate.write(offsetBytes, src);
    }

    @Override
    public void flush() throws IOException {
        flushes.incrementAndGet();
        delegate.flush();
    }

    @Override
    public void discard(long offsetBytes, long lengthBytes) throws IOException {
        discards.incrementAndGet();
        pass(offsetBytes);
        delegate.discard(offsetBytes, lengthBytes);
    }

    @Override
    public void writeZeroes(long offsetBytes, long lengthBytes) throws IOException {
        writeZeroes.incrementAndGet();
        pass(offsetBytes);
        delegate.writeZeroes(offsetBytes, lengthBytes);
    }

    @Override
    public List<Extent> allocation(long offsetBytes, long lengthBytes) throws IOException {
        allocations.incrementAndGet();
        return delegate.allocation(offsetBytes, lengthBytes);
    }

    @Override
    public void close() throws IOException {
        delegate.close();
    }
}
