package io.raidd.nbd;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * A server-wide limit on bytes held for in-flight requests (WRITE payloads being received or
 * executed, READ data being produced or sent). Waiters are served first-come first-served, so a
 * busy connection cannot starve a quiet one. Thread-safe.
 */
final class SharedByteBudget {
    private final long limitBytes;
    private final ArrayDeque<Waiter> waiters = new ArrayDeque<>();
    private long usedBytes;

    SharedByteBudget(long limitBytes) {
        this.limitBytes = limitBytes;
    }

    /**
     * Takes {@code bytes} now and returns null, or queues the caller and returns its waiter;
     * {@code onGrant} then runs (on the releasing thread) once the bytes have been taken for it.
     */
    Waiter acquireOrWait(long bytes, Runnable onGrant) {
        if (bytes > limitBytes) {
            throw new IllegalArgumentException("request of " + bytes + " bytes exceeds budget " + limitBytes);
        }
        synchronized (this) {
            if (waiters.isEmpty() && usedBytes + bytes <= limitBytes) {
                usedBytes += bytes;
                return null;
            }
            Waiter waiter = new Waiter(bytes, onGrant);
            waiters.addLast(waiter);
            return waiter;
        }
    }

    void release(long bytes) {
        if (bytes == 0) {
            return;
        }
        List<Waiter> granted = null;
        synchronized (this) {
            usedBytes -= bytes;
            if (usedBytes < 0) {
                throw new IllegalStateException("budget released more than acquired");
            }
            while (!waiters.isEmpty() && usedBytes + waiters.peekFirst().bytes <= limitBytes) {
                Waiter w = waiters.pollFirst();
                usedBytes += w.bytes;
                if (granted == null) {
                    granted = new ArrayList<>(2);
                }
                granted.add(w);
            }
        }
        if (granted != null) {
            for (Waiter w : granted) {
                w.onGrant.run();
            }
        }
    }

    /**
     * Withdraws a queued waiter. Returns false when it was already granted: its bytes are then
     * taken and its onGrant runs (or ran), so the owner must release them.
     */
    boolean cancel(Waiter waiter) {
        synchronized (this) {
            return waiters.remove(waiter);
        }
    }

    synchronized long usedBytes() {
        return usedBytes;
    }

    synchronized int waiting() {
        return waiters.size();
    }

    static final class Waiter {
        final long bytes;
        private final Runnable onGrant;

        private Waiter(long bytes, Runnable onGrant) {
            this.bytes = bytes;
            this.onGrant = onGrant;
        }
    }
}
