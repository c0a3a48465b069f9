package io.raidd.raid.volume;

import io.raidd.raid.member.Operation;
import java.util.BitSet;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Mutual exclusion per stripe, from a fixed table of locks indexed by a hash of the stripe number.
 * Two stripes may share a lock (rarely, and harmlessly). A foreground request holds at most one at
 * a time; background work that takes several takes them in table order; so the table cannot
 * deadlock.
 *
 * <p>A lock is not tied to the thread that took it: when a foreground operation is abandoned
 * because its thread is stuck in a hung member ({@link Operation}), its rescuer releases the locks
 * it held, so no stripe stays behind the hung call. The stuck thread's own release later is a
 * no-op.
 */
final class StripeLocks {
    private static final int LOCKS = 4096;
    private final Semaphore[] locks = new Semaphore[LOCKS];

    StripeLocks() {
        for (int i = 0; i < LOCKS; i++) {
            locks[i] = new Semaphore(1);
        }
    }

    private static int index(long stripe) {
        long h = stripe * 0x9E3779B97F4A7C15L;
        return (int) (h >>> 52) & (LOCKS - 1);
    }

    /** Locks {@code stripe} and returns the handle that unlocks it (once). */
    StripeAccess.StripeLock lock(long stripe) {
        return take(new int[] {index(stripe)});
    }

    /** Locks every stripe in {@code stripes}: their table entries, each once, in table order. */
    StripeAccess.StripeLock lockAll(long[] stripes) {
        BitSet entries = new BitSet(LOCKS);
        for (long s : stripes) {
            entries.set(index(s));
        }
        return take(entries.stream().toArray());
    }

    /**
     * Takes and releases every table entry in turn (never two at once): returns once every lock
     * held at the call has been released. Operations that start meanwhile are not waited for.
     */
    void drain() {
        for (Semaphore lock : locks) {
            lock.acquireUninterruptibly();
            lock.release();
        }
    }

    private Lease take(int[] entries) {
        for (int i : entries) {
            locks[i].acquireUninterruptibly();
        }
        Lease lease = new Lease(entries, Operation.current());
        if (lease.operation != null) {
            lease.operation.hold(lease);
        }
        return lease;
    }

    /** Held table entries; released once, by whoever gets there first. */
    private final class Lease implements StripeAccess.StripeLock, Operation.Hold {
        private final int[] entries;
        private final Operation operation;
        private final AtomicBoolean released = new AtomicBoolean();

        Lease(int[] entries, Operation operation) {
            this.entries = entries;
            this.operation = operation;
        }

        @Override
        public void close() {
            if (operation != null) {
                operation.released(this);
            }
            release();
        }

        @Override
        public void release() {
            if (released.compareAndSet(false, true)) {
                for (int i = entries.length - 1; i >= 0; i--) {
                    locks[entries[i]].release();
                }
            }
        }
    }
}
