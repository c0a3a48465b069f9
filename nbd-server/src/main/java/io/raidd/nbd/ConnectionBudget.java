package io.raidd.nbd;

import java.util.concurrent.Executor;

/**
 * Backpressure for one connection: how many requests and how many payload bytes may be
 * outstanding between "header decoded" and "reply written to the socket". When the budget is
 * exhausted the decoder stops reading, so TCP flow control pushes back on the client instead of
 * the server buffering without bound. Releasing on write completion (not on device completion)
 * also throttles clients that do not read their replies.
 *
 * <p>Confined to the connection's event loop, except that grants of the shared budget arrive from
 * other threads and are handed to the loop.
 */
final class ConnectionBudget {
    private final int maxRequests;
    private final long maxBytes;
    private final SharedByteBudget shared;
    private final Executor eventLoop;

    private int requests;
    private long bytes;
    private Runnable parked;
    private SharedByteBudget.Waiter sharedWaiter;
    private long grantedBytes = -1;
    private boolean closed;

    ConnectionBudget(int maxRequests, long maxBytes, SharedByteBudget shared, Executor eventLoop) {
        this.maxRequests = maxRequests;
        this.maxBytes = maxBytes;
        this.shared = shared;
        this.eventLoop = eventLoop;
    }

    /**
     * Reserves one request carrying {@code requestBytes}. Returns false when it does not fit yet;
     * {@code resume} is then scheduled on the event loop once it may fit, and the caller retries.
     * A connection with nothing outstanding always fits locally, so one maximal request can pass.
     */
    boolean tryAcquire(long requestBytes, Runnable resume) {
        if (closed) {
            return false;
        }
        if (requests >= maxRequests || (requests > 0 && bytes + requestBytes > maxBytes)) {
            parked = resume;
            return false;
        }
        if (requestBytes > 0) {
            if (grantedBytes == requestBytes) {
                grantedBytes = -1;
            } else if (sharedWaiter != null) {
                return false;
            } else {
                SharedByteBudget.Waiter waiter =
                        shared.acquireOrWait(requestBytes, () -> eventLoop.execute(() -> onSharedGrant(resume)));
                if (waiter != null) {
                    sharedWaiter = waiter;
                    return false;
                }
            }
        }
        requests++;
        bytes += requestBytes;
        return true;
    }

    private void onSharedGrant(Runnable resume) {
        long granted = sharedWaiter.bytes;
        sharedWaiter = null;
        if (closed) {
            shared.release(granted);
            return;
        }
        grantedBytes = granted;
        resume.run();
    }

    void release(long requestBytes) {
        requests--;
        bytes -= requestBytes;
        shared.release(requestBytes);
        if (parked != null) {
            Runnable r = parked;
            parked = null;
            // Deferred so a write listener never re-enters the decoder.
            eventLoop.execute(r);
        }
    }

    int requestsInFlight() {
        return requests;
    }

    long bytesInFlight() {
        return bytes;
    }

    /** Drops any wait and any unused grant; outstanding requests still call {@link #release}. */
    void close() {
        if (closed) {
            return;
        }
        closed = true;
        parked = null;
        if (sharedWaiter != null && shared.cancel(sharedWaiter)) {
            sharedWaiter = null;
        }
        if (grantedBytes >= 0) {
            shared.release(grantedBytes);
            grantedBytes = -1;
        }
    }
}
