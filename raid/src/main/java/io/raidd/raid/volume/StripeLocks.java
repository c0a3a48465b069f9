package io.raidd.raid.volume;

import java.util.concurrent.locks.ReentrantLock;

/**
 * Mutual exclusion per stripe, from a fixed table of locks indexed by a hash of the stripe number.
 * Two stripes may share a lock (rarely, and harmlessly); one request holds at most one stripe lock
 * at a time, so the table cannot deadlock.
 */
final class StripeLocks {
    private static final int LOCKS = 4096;
    private final ReentrantLock[] locks = new ReentrantLock[LOCKS];

    StripeLocks() {
        for (int i = 0; i < LOCKS; i++) {
            locks[i] = new ReentrantLock();
        }
    }

    ReentrantLock forStripe(long stripe) {
        return locks[index(stripe)];
    }

    /**
     * Locks every stripe in {@code stripes}: their table entries, each once, in table order, so two
     * holders of several locks cannot deadlock (a request holds only one).
     */
    StripeAccess.StripeLock lockAll(long[] stripes) {
        java.util.BitSet entries = new java.util.BitSet(LOCKS);
        for (long s : stripes) {
            entries.set(index(s));
        }
        int[] order = entries.stream().toArray();
        for (int i : order) {
            locks[i].lock();
        }
        return new StripeAccess.StripeLock() {
            private boolean closed;

            @Override
            public void close() {
                if (!closed) {
                    closed = true;
                    for (int i = order.length - 1; i >= 0; i--) {
                        locks[order[i]].unlock();
                    }
                }
            }
        };
    }

    private static int index(long stripe) {
        long h = stripe * 0x9E3779B97F4A7C15L;
        return (int) (h >>> 52) & (LOCKS - 1);
    }

    /** Locks {@code stripe} and returns the handle that unlocks it (once). */
    StripeAccess.StripeLock lock(long stripe) {
        ReentrantLock lock = forStripe(stripe);
        lock.lock();
        return new StripeAccess.StripeLock() {
            private boolean closed;

            @Override
            public void close() {
                if (!closed) {
                    closed = true;
                    lock.unlock();
                }
            }
        };
    }
}
