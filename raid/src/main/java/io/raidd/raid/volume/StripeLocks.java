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
        long h = stripe * 0x9E3779B97F4A7C15L;
        return locks[(int) (h >>> 52) & (LOCKS - 1)];
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
