package io.raidd.raid.member;

import io.raidd.blockdev.BlockDevice;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One device of an array: where its data area starts, the slot it holds, its state (changed only by
 * {@link MemberLifecycle}), how far a rebuild has brought it, its error counters, and the threads
 * that do its I/O. Offsets given to the I/O methods are relative to the data area.
 */
public final class Member implements AutoCloseable {
    private volatile int slot;
    private final String name;
    private final BlockDevice device;
    private final long dataOffsetBytes;
    private final ExecutorService executor;
    private volatile MemberState state;
    private volatile String failureReason;
    /** REBUILDING: member data bytes below this offset are in sync. */
    private volatile long recoveredBytes;

    private final AtomicLong readErrors = new AtomicLong();
    private final AtomicLong writeErrors = new AtomicLong();
    private final AtomicLong timeouts = new AtomicLong();
    private final AtomicLong correctedReads = new AtomicLong();

    /** An active member. */
    public Member(int slot, String name, BlockDevice device, long dataOffsetBytes, int ioThreads) {
        this(slot, name, device, dataOffsetBytes, ioThreads, MemberState.ACTIVE);
    }

    private Member(int slot, String name, BlockDevice device, long dataOffsetBytes, int ioThreads, MemberState state) {
        this.slot = slot;
        this.name = name;
        this.device = device;
        this.dataOffsetBytes = dataOffsetBytes;
        this.state = state;
        this.executor = device == null ? null : Executors.newFixedThreadPool(ioThreads, threadFactory(name));
    }

    /**
     * A member as assembly found it: ACTIVE, REBUILDING in {@code slot} with {@code recoveredBytes}
     * in sync (md's recovery_offset), or SPARE (slot -1). New devices join through {@link
     * MemberLifecycle} instead.
     */
    public static Member assembled(
            int slot,
            String name,
            BlockDevice device,
            long dataOffsetBytes,
            int ioThreads,
            MemberState state,
            long recoveredBytes) {
        if (state != MemberState.ACTIVE && state != MemberState.REBUILDING && state != MemberState.SPARE) {
            throw new IllegalArgumentException("a member is assembled active, rebuilding or spare, not " + state);
        }
        Member m = new Member(state == MemberState.SPARE ? -1 : slot, name, device, dataOffsetBytes, ioThreads, state);
        m.recoveredBytes = state == MemberState.REBUILDING ? recoveredBytes : 0;
        return m;
    }

    /** A new device, as a spare until {@link MemberLifecycle} gives it a slot. */
    public static Member newSpare(String name, BlockDevice device, long dataOffsetBytes, int ioThreads) {
        return new Member(-1, name, device, dataOffsetBytes, ioThreads, MemberState.SPARE);
    }

    /** A slot with no device, as assembled degraded. */
    public static Member missing(int slot) {
        Member m = new Member(slot, "(missing slot " + slot + ")", null, 0, 0, MemberState.MISSING);
        m.failureReason = "missing at assembly";
        return m;
    }

    private static java.util.concurrent.ThreadFactory threadFactory(String name) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, "raidd-member-" + name + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    public int slot() {
        return slot;
    }

    public String name() {
        return name;
    }

    public BlockDevice device() {
        return device;
    }

    public long dataOffsetBytes() {
        return dataOffsetBytes;
    }

    public MemberState state() {
        return state;
    }

    /** Data-area bytes below which a REBUILDING member is in sync (everything for ACTIVE). */
    public long recoveredBytes() {
        return state == MemberState.ACTIVE ? Long.MAX_VALUE : recoveredBytes;
    }

    /** Why the member is not active, or null. */
    public String failureReason() {
        return failureReason;
    }

    public long readErrors() {
        return readErrors.get();
    }

    public long writeErrors() {
        return writeErrors.get();
    }

    /** Read errors that were repaired by rewriting reconstructed data. */
    public long correctedReads() {
        return correctedReads.get();
    }

    public void noteCorrectedRead() {
        correctedReads.incrementAndGet();
    }

    private final AtomicLong noSpaceErrors = new AtomicLong();

    /** Writes refused for lack of space on the file system under the member (not counted as errors). */
    public long noSpaceErrors() {
        return noSpaceErrors.get();
    }

    void noteNoSpace() {
        noSpaceErrors.incrementAndGet();
    }

    /** I/Os that overran the member timeout. */
    public long timeouts() {
        return timeouts.get();
    }

    void noteTimeout() {
        timeouts.incrementAndGet();
    }

    // ------------------------------------------------------- transitions (MemberLifecycle only)

    /** SPARE (or a new device) to REBUILDING in {@code newSlot}, nothing in sync yet. */
    synchronized void startRebuild(int newSlot, long fromBytes) {
        slot = newSlot;
        recoveredBytes = fromBytes;
        state = MemberState.REBUILDING;
    }

    /** A REBUILDING member's data is in sync below {@code bytes}; only ever grows. */
    void recovered(long bytes) {
        if (bytes > recoveredBytes) {
            recoveredBytes = bytes;
        }
    }

    /** REBUILDING to ACTIVE: every byte in sync. */
    synchronized void inSync() {
        state = MemberState.ACTIVE;
        recoveredBytes = 0;
    }

    /** The slot a member that leaves its slot (retired or removed) no longer holds. */
    void detach() {
        slot = -1;
    }

    /** Moves a live member to FAULTY; returns false when it was faulty or missing already. */
    synchronized boolean markFaulty(String reason) {
        if (state == MemberState.FAULTY || state == MemberState.MISSING) {
            return false;
        }
        failureReason = reason;
        state = MemberState.FAULTY;
        return true;
    }

    /** Whether the member takes I/O at all (its data may still be out of sync). */
    public boolean live() {
        MemberState s = state;
        return s == MemberState.ACTIVE || s == MemberState.REBUILDING;
    }

    /** A member operation, not started yet. */
    @FunctionalInterface
    interface IoAction {
        void run() throws IOException;
    }

    /**
     * A read that cannot wait for the member's disk ({@link BlockDevice#readIfCached}): false when the
     * member takes no I/O or any byte would have to come from its disk. Errors are left for the
     * blocking read.
     */
    public boolean readIfCached(long offsetBytes, ByteBuffer dst) {
        return live() && device.readIfCached(dataOffsetBytes + offsetBytes, dst);
    }

    IoAction read(long offsetBytes, ByteBuffer dst) {
        return counted(readErrors, () -> device.read(dataOffsetBytes + offsetBytes, dst));
    }

    IoAction write(long offsetBytes, ByteBuffer src) {
        return counted(writeErrors, () -> device.write(dataOffsetBytes + offsetBytes, src));
    }

    /** One member write of the buffers' concatenation ({@link BlockDevice#writeGathered}). */
    IoAction writeGathered(long offsetBytes, java.util.List<ByteBuffer> srcs) {
        return counted(writeErrors, () -> device.writeGathered(dataOffsetBytes + offsetBytes, srcs));
    }

    IoAction writeZeroes(long offsetBytes, long lengthBytes) {
        return counted(writeErrors, () -> device.writeZeroes(dataOffsetBytes + offsetBytes, lengthBytes));
    }

    IoAction flush() {
        return counted(writeErrors, device::flush);
    }

    /** {@code action}, counting its failures in {@code errors}. */
    private static IoAction counted(AtomicLong errors, IoAction action) {
        return () -> {
            try {
                action.run();
            } catch (IOException | RuntimeException e) {
                if (!(e instanceof io.raidd.blockdev.NoSpaceException)) {
                    errors.incrementAndGet();
                }
                throw e;
            }
        };
    }

    /** Where the data at member offset {@code offsetBytes} ends ({@link BlockDevice#nextHoleBytes}). */
    public long nextHole(long offsetBytes) throws IOException {
        return device.nextHoleBytes(dataOffsetBytes + offsetBytes) - dataOffsetBytes;
    }

    public java.util.List<io.raidd.blockdev.Extent> allocation(long offsetBytes, long lengthBytes) throws IOException {
        return device.allocation(dataOffsetBytes + offsetBytes, lengthBytes);
    }

    /** Runs {@code op} on one of this member's threads. */
    CompletableFuture<Void> submit(IoBatch.Op op) {
        CompletableFuture<Void> f = new CompletableFuture<>();
        if (!live()) {
            f.completeExceptionally(new IOException("member " + name + " is " + state.label()));
            return f;
        }
        try {
            executor.execute(() -> {
                try {
                    op.execute();
                    f.complete(null);
                } catch (Throwable t) {
                    f.completeExceptionally(t);
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            f.completeExceptionally(new IOException("member " + name + " is closed", e));
        }
        return f;
    }

    /**
     * Runs {@code op} on the calling thread, saving two thread hand-offs, and returns its failure
     * (null on success). While it runs it is registered, so the {@link MemberWatchdog} can give up
     * on it, and on the operation that issued it, when it overruns the member timeout.
     */
    Throwable runInline(IoBatch.Op op) {
        if (!live()) {
            return new IOException("member " + name + " is " + state.label());
        }
        inlineOps.add(op);
        try {
            op.execute();
            return null;
        } catch (Throwable t) {
            return t;
        } finally {
            inlineOps.remove(op);
        }
    }

    private final java.util.Set<IoBatch.Op> inlineOps = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /** Inline operations running since before {@code deadlineNanos} (System.nanoTime). */
    java.util.List<IoBatch.Op> inlineOpsStartedBefore(long deadlineNanos) {
        java.util.List<IoBatch.Op> out = new java.util.ArrayList<>();
        for (IoBatch.Op op : inlineOps) {
            if (op.runningSince(deadlineNanos)) {
                out.add(op);
            }
        }
        return out;
    }

    /** Stops the I/O threads (a hung one is abandoned) without closing the device. */
    void closeThreads() {
        if (executor != null && state == MemberState.FAULTY) {
            executor.shutdownNow(); // a thread stuck in a failed member is not waited for
        } else if (executor != null) {
            executor.shutdown();
            try {
                if (!executor.awaitTermination(5, TimeUnit.SECONDS)) {
                    executor.shutdownNow();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private boolean closed;

    /** Stops the I/O threads (a hung one is abandoned) and closes the device; once. */
    @Override
    public void close() throws IOException {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        closeThreads();
        if (device != null) {
            device.close();
        }
    }

    @Override
    public String toString() {
        return "member " + slot + " (" + name + ", " + state + ")";
    }
}
