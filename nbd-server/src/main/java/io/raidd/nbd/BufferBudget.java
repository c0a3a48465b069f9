package io.raidd.nbd;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The server-wide ceiling on memory held for client data: READ replies produced and not yet taken
 * by the kernel, and WRITE payloads received and not yet written to the device. Connections reserve
 * bytes before they produce a reply ({@link #acquireOrWait}); WRITE payload bytes are already in
 * memory when they are counted ({@link #charge}), and a connection that finds the server full
 * ({@link #hasRoom}) stops reading until it is granted room again. Waiters are served first-come
 * first-served, so a busy connection cannot starve a quiet one.
 *
 * <p>The ceiling is also divided: {@link #fairShareBytes} is the ceiling over the number of
 * connections with requests in flight, and each connection's own limits ({@link ConnectionBudget})
 * are capped at it, so connections that stop reading can hold no more than their share. Every
 * reservation is at most one slice of a reply or one piece of a payload ({@link
 * NbdRequestDecoder#pieceBytes}), so a freed share is usable by the next connection in line at once.
 *
 * <p>A part of the ceiling, the reserve, is kept out of that sharing: only a connection that holds
 * nothing of the budget may take from it ({@link #tryAcquireReserve}), once, without queueing. A
 * well-behaved client that waits for each reply before its next request holds nothing between its
 * requests, so it never queues behind the backlog of connections that filled their shares (that
 * queue drains only as fast as the device writes their payloads, many requests' service time);
 * a connection that keeps what it took (replies unread) cannot take from the reserve again.
 * Thread-safe.
 */
final class BufferBudget {
    private final long capacityBytes;
    /** The ceiling less the reserve: what queued reservations and shares are measured against. */
    private final long sharedBytes;

    private final ArrayDeque<Waiter> waiters = new ArrayDeque<>();
    private final AtomicInteger activeConnections = new AtomicInteger();
    private long usedBytes;
    private long reserveUsedBytes;

    BufferBudget(long capacityBytes) {
        this(capacityBytes, 0);
    }

    /** @param reserveBytes the part of the ceiling only connections holding nothing may take */
    BufferBudget(long capacityBytes, long reserveBytes) {
        if (reserveBytes < 0 || reserveBytes >= capacityBytes) {
            throw new IllegalArgumentException("reserve " + reserveBytes + " not below the ceiling " + capacityBytes);
        }
        this.capacityBytes = capacityBytes;
        this.sharedBytes = capacityBytes - reserveBytes;
    }

    long capacityBytes() {
        return capacityBytes;
    }

    /**
     * Takes {@code bytes} now and returns null, or queues the caller and returns its waiter;
     * {@code onGrant} then runs (on the releasing thread) once the bytes have been taken for it.
     */
    Waiter acquireOrWait(long bytes, Runnable onGrant) {
        if (bytes > sharedBytes) {
            throw new IllegalArgumentException(
                    "reservation of " + bytes + " bytes exceeds the shared ceiling " + sharedBytes);
        }
        synchronized (this) {
            if (waiters.isEmpty() && usedBytes + bytes <= sharedBytes) {
                usedBytes += bytes;
                return null;
            }
            Waiter waiter = new Waiter(bytes, onGrant);
            waiters.addLast(waiter);
            return waiter;
        }
    }

    /**
     * Takes {@code bytes} from the reserve at once, past any queue, when they fit in what is left of
     * it; for a connection that holds nothing of the budget. The reserve is counted apart from the
     * shared part, so payload counted after the fact beyond the shared part never eats into it.
     * False: queue instead.
     */
    synchronized boolean tryAcquireReserve(long bytes) {
        if (reserveUsedBytes + bytes <= capacityBytes - sharedBytes) {
            reserveUsedBytes += bytes;
            return true;
        }
        return false;
    }

    /** Returns bytes taken with {@link #tryAcquireReserve}. */
    synchronized void releaseReserve(long bytes) {
        reserveUsedBytes -= bytes;
        if (reserveUsedBytes < 0) {
            throw new IllegalStateException("reserve released more than acquired");
        }
    }

    /**
     * Counts bytes that are already in memory (a WRITE payload read from the socket). Never waits,
     * so the total may pass the ceiling by what the connections read before they could stop.
     */
    synchronized void charge(long bytes) {
        usedBytes += bytes;
    }

    /** Bytes below the ceiling; 0 when others wait for them. */
    synchronized long freeBytes() {
        return waiters.isEmpty() ? Math.max(0, sharedBytes - usedBytes) : 0;
    }

    /** Whether a connection without a reservation may go on reading payload: nobody waits, and room is left. */
    synchronized boolean hasRoom() {
        return waiters.isEmpty() && usedBytes < sharedBytes;
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
            while (!waiters.isEmpty() && usedBytes + waiters.peekFirst().bytes <= sharedBytes) {
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

    /** A connection got its first request in flight. */
    void connectionBusy() {
        activeConnections.incrementAndGet();
    }

    /** A connection has no request in flight any more. */
    void connectionIdle() {
        activeConnections.decrementAndGet();
    }

    /** Connections with requests in flight. */
    int activeConnections() {
        return activeConnections.get();
    }

    /** The ceiling less the reserve, divided among the connections with requests in flight. */
    long fairShareBytes() {
        return sharedBytes / Math.max(1, activeConnections.get());
    }

    /** Bytes held, the reserve's included. */
    synchronized long usedBytes() {
        return usedBytes + reserveUsedBytes;
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
