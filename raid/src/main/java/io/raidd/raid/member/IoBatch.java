package io.raidd.raid.member;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import java.util.concurrent.locks.LockSupport;

/**
 * Member I/Os issued together and awaited together, so that one request's member operations run in
 * parallel, and nothing waits for a member longer than the member timeout.
 *
 * <p>Where an operation runs: a foreground operation that can be rescued ({@link
 * Operation#current()} is set) runs small batches entirely on its own thread and, for larger ones,
 * hands all but the last operation to their members' threads and runs the last itself; if an I/O
 * on its thread overruns the timeout, the {@link MemberWatchdog} abandons the operation and has it
 * run again elsewhere. Everyone else (background work, rescues, callers that cannot be rescued)
 * hands every operation to the members' threads and waits with a deadline, so it cannot hang.
 *
 * <p>What a late I/O may touch: a member read into memory that is not the issuing thread's own
 * scratch ({@link #readInto}) goes through the executing thread's bounce buffer and is copied over
 * only if nobody gave up on it first; a read into the issuing thread's scratch ({@link #read}) that
 * times out makes that thread drop its scratch ({@link Scratch#discard}). A write that lands late
 * lands on a member that was failed for being late, whose contents no longer count.
 */
public final class IoBatch {

    public enum Kind {
        READ,
        WRITE,
        ZERO,
        FLUSH
    }

    private static final int PENDING = 0;
    private static final int RUNNING = 1;
    private static final int COMPLETING = 2;
    private static final int DONE = 3;
    private static final int ABANDONED = 4;

    private static final AtomicIntegerFieldUpdater<Op> STATE = AtomicIntegerFieldUpdater.newUpdater(Op.class, "state");

    /** One member operation and, after {@link #await}, how it ended. */
    public static final class Op {
        public final Member member;
        public final Kind kind;
        public final long offsetBytes;
        public final long lengthBytes;
        private final Member.IoAction action;
        /** For {@link IoBatch#readInto}: where the bytes go once read (someone else's memory). */
        private final ByteBuffer destination;

        volatile int state;
        /** Set by the executing thread when it starts (System.nanoTime), for the watchdog. */
        volatile long startNanos;
        /** The rescuable operation that issued it, when it runs on the issuing thread. */
        volatile Operation operation;

        CompletableFuture<Void> future;
        public Throwable failure;
        public boolean timedOut;

        Op(
                Member member,
                Kind kind,
                long offsetBytes,
                long lengthBytes,
                Member.IoAction action,
                ByteBuffer destination) {
            this.member = member;
            this.kind = kind;
            this.offsetBytes = offsetBytes;
            this.lengthBytes = lengthBytes;
            this.action = action;
            this.destination = destination;
        }

        public boolean failed() {
            return failure != null;
        }

        public String describe() {
            String what = kind.name().toLowerCase(java.util.Locale.ROOT);
            String where = kind == Kind.FLUSH ? "" : " at data offset " + offsetBytes + " (+" + lengthBytes + ")";
            if (timedOut) {
                return what + where + " timed out";
            }
            return what + where + " failed: " + failure;
        }

        /**
         * Runs the operation on the calling thread. Returns normally when it succeeded (a bounced
         * read copied over); throws its failure; returns without effect once someone gave up on it.
         */
        void execute() throws IOException {
            // The start time first: the watchdog reads it as soon as the state says RUNNING.
            startNanos = System.nanoTime();
            if (!STATE.compareAndSet(this, PENDING, RUNNING)) {
                return; // abandoned before it started
            }
            if (destination == null) {
                try {
                    action.run();
                } finally {
                    STATE.compareAndSet(this, RUNNING, DONE);
                }
                return;
            }
            ByteBuffer bounce = Scratch.get().bounce(destination.remaining());
            try {
                member.read(offsetBytes, bounce).run();
            } catch (IOException | RuntimeException e) {
                STATE.compareAndSet(this, RUNNING, DONE);
                throw e;
            }
            if (STATE.compareAndSet(this, RUNNING, COMPLETING)) {
                destination.duplicate().put(bounce.flip());
                state = DONE;
            }
        }

        /**
         * Gives up on the operation: a late completion must not touch its destination. Returns
         * false when it completed first (waiting out a copy in progress).
         */
        boolean abandon() {
            while (true) {
                int s = state;
                if (s == DONE) {
                    return false;
                }
                if (s == COMPLETING) {
                    LockSupport.parkNanos(1_000);
                    continue;
                }
                if (s == ABANDONED || STATE.compareAndSet(this, s, ABANDONED)) {
                    return true;
                }
            }
        }

        /** The executing thread finished it (DONE), as opposed to someone giving up on it. */
        boolean completed() {
            return state == DONE;
        }

        boolean runningSince(long deadlineNanos) {
            return state == RUNNING && startNanos - deadlineNanos < 0;
        }
    }

    /**
     * Batches up to this many bytes run entirely on the calling thread (when it may run I/O inline
     * at all), one operation after the other. Measured on a 4+1 RAID-5 of tmpfs images over NBD (2
     * cores): handing operations to member threads cost more than the parallelism gave back below
     * this size (random 4 KiB writes, a four-operation read-modify-write, went from ~30k to ~65k IOPS
     * inline; measured again with every operation handed off: 18-23k against 53-54k IOPS). Larger
     * batches still fan out, so one big request keeps every disk busy; small ones get disk
     * parallelism from concurrent requests.
     */
    static final long INLINE_BATCH_MAX_BYTES = 1 << 20;

    private final List<Op> ops = new ArrayList<>(8);
    private boolean scratchReads;

    /** Reads into the calling thread's own scratch ({@link Scratch#blocks} and friends). */
    public Op read(Member m, long offsetBytes, ByteBuffer scratchDst) {
        scratchReads = true;
        return add(new Op(m, Kind.READ, offsetBytes, scratchDst.remaining(), m.read(offsetBytes, scratchDst), null));
    }

    /** {@link #read}, checking the integrity tags as {@code verify} says. */
    public Op read(Member m, long offsetBytes, ByteBuffer scratchDst, Member.Verify verify) {
        scratchReads = true;
        return add(new Op(
                m, Kind.READ, offsetBytes, scratchDst.remaining(), m.read(offsetBytes, scratchDst, verify), null));
    }

    /** Reads into memory that is not the calling thread's own (a caller's buffer): bounced. */
    public Op readInto(Member m, long offsetBytes, ByteBuffer dst) {
        return add(new Op(m, Kind.READ, offsetBytes, dst.remaining(), null, dst));
    }

    public Op write(Member m, long offsetBytes, ByteBuffer src) {
        return add(new Op(m, Kind.WRITE, offsetBytes, src.remaining(), m.write(offsetBytes, src), null));
    }

    /** One member write of the buffers' concatenation, as one operation (one hand-off to the member). */
    public Op write(Member m, long offsetBytes, List<ByteBuffer> srcs) {
        if (srcs.size() == 1) {
            return write(m, offsetBytes, srcs.get(0));
        }
        long length = 0;
        for (ByteBuffer src : srcs) {
            length += src.remaining();
        }
        return add(new Op(m, Kind.WRITE, offsetBytes, length, m.writeGathered(offsetBytes, srcs), null));
    }

    public Op writeZeroes(Member m, long offsetBytes, long lengthBytes) {
        return add(new Op(m, Kind.ZERO, offsetBytes, lengthBytes, m.writeZeroes(offsetBytes, lengthBytes), null));
    }

    public Op flush(Member m) {
        return add(new Op(m, Kind.FLUSH, 0, 0, m.flush(), null));
    }

    private Op add(Op op) {
        ops.add(op);
        return op;
    }

    public boolean isEmpty() {
        return ops.isEmpty();
    }

    /**
     * Runs every operation, waiting at most {@code timeoutNs} for each, and returns the failed ones
     * (empty when all succeeded; a timed-out one has {@link Op#timedOut} set).
     *
     * @throws AbandonedOperationException when the calling thread's operation was given up on while
     *     it waited (another thread answers for it)
     */
    public List<Op> await(long timeoutNs) throws AbandonedOperationException {
        if (ops.isEmpty()) {
            return List.of();
        }
        Operation operation = Operation.current();
        if (operation != null) {
            operation.checkNotAbandoned();
        }
        long deadline = System.nanoTime() + timeoutNs;
        int firstInline = ops.size();
        if (operation != null) {
            long batchBytes = 0;
            for (Op op : ops) {
                // A flush waits on the device, not on memory copies: always worth doing in parallel.
                batchBytes += op.kind == Kind.FLUSH ? INLINE_BATCH_MAX_BYTES + 1 : op.lengthBytes;
            }
            firstInline = batchBytes <= INLINE_BATCH_MAX_BYTES ? 0 : ops.size() - 1;
            if (ops.get(ops.size() - 1).kind == Kind.FLUSH) {
                firstInline = ops.size();
            }
        }
        for (int i = 0; i < firstInline; i++) {
            Op op = ops.get(i);
            op.future = op.member.submit(op);
            if (operation != null) {
                operation.submitted(op.future);
            }
        }
        for (int i = firstInline; i < ops.size(); i++) {
            Op inline = ops.get(i);
            inline.operation = operation;
            inline.failure = inline.member.runInline(inline);
            if (operation.abandoned()) {
                // The watchdog gave up on it: the operation is being answered elsewhere.
                throw new AbandonedOperationException(
                        "operation abandoned after " + inline.member.name() + " timed out; rescued elsewhere");
            }
        }
        List<Op> failed = null;
        boolean interrupted = false;
        for (Op op : ops) {
            if (op.future != null) {
                try {
                    op.future.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                } catch (ExecutionException e) {
                    op.failure = e.getCause();
                } catch (TimeoutException e) {
                    if (op.abandon()) {
                        op.timedOut = true;
                        op.failure = e;
                    }
                } catch (InterruptedException e) {
                    interrupted = true;
                    if (op.abandon()) {
                        op.failure = e;
                    }
                }
            }
            if (op.failure != null) {
                if (failed == null) {
                    failed = new ArrayList<>(2);
                }
                failed.add(op);
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        if (failed != null && scratchReads) {
            for (Op op : failed) {
                if (op.kind == Kind.READ && op.destination == null && op.timedOut) {
                    Scratch.discard(); // a late read may still land in this thread's blocks
                    break;
                }
            }
        }
        return failed == null ? List.of() : failed;
    }
}
