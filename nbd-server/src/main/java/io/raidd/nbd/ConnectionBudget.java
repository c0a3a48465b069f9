package io.raidd.nbd;

import java.util.concurrent.Executor;

/**
 * What one connection may hold of the server: requests in flight, bytes of READ replies produced
 * and not yet taken by the kernel, and bytes of WRITE payload received and not yet written to the
 * device. Each kind has its configured maximum, and both together are held to the connection's fair
 * share of the server's {@link BufferBudget} (the ceiling over the busy connections), so the shares
 * add up to the ceiling: a connection that stops reading keeps at most its share and stops being
 * served, and no connection ever waits for room that others took beyond theirs.
 *
 * <ul>
 *   <li>Requests: the decoder takes a slot per request and stops reading while none is free.
 *   <li>Replies: bytes are reserved before a reply (or one slice of a long READ reply) is produced
 *       and returned when the socket has taken it, so READ data is never held for a client that
 *       does not read beyond what was reserved.
 *   <li>Payload: bytes are counted as they arrive ({@link #chargePayload}), not when a header
 *       announces them, so a client that sends slowly holds only what it sent. The decoder asks
 *       {@link #payloadRoom} before reading on and stops while there is none.
 * </ul>
 *
 * One reservation always passes this connection's own limit when it holds nothing of that kind,
 * so a request larger than the limit still runs (alone). Confined to the connection's event loop,
 * except that grants of the server budget arrive from other threads and are handed to the loop.
 */
final class ConnectionBudget {
    private static final System.Logger LOG = System.getLogger(ConnectionBudget.class.getName());

    /** Why the decoder may or may not read more payload. */
    enum Room {
        YES,
        /** This connection holds its limit; its own device writes will free it. */
        CONNECTION_FULL,
        /** The server is at its ceiling or others wait for it; a grant will free it. */
        SERVER_FULL
    }

    /**
     * Socket reads of all busy connections together, per turn of an event loop: each busy
     * connection reads at most its share of this per turn, so a request arriving on one connection
     * waits for at most this many bytes of others' payload to be read on its event loop (a few
     * milliseconds at worst on a loaded machine), however many connections stream WRITEs. With
     * one to four busy connections each still reads a megabyte at a time.
     */
    static final long TURN_READ_BYTES = 4L << 20;

    /** Payload bytes reserved at once when a paused decoder is let back in. */
    static final long RESUME_CREDIT_BYTES = 256 * 1024;

    private final String name;
    private final int maxRequests;
    private final long maxReplyBytes;
    private final long maxPayloadBytes;
    private final long payloadFloorBytes;
    private final BufferBudget server;
    private final Executor eventLoop;

    private int requests;
    private Runnable requestWaiter;

    private long replyBytes;
    /** The part of {@link #replyBytes} taken from the server's reserve. */
    private long replyReserveBytes;

    private Runnable replyWaiter;
    private BufferBudget.Waiter replyServerWaiter;
    private long replyGrantBytes = -1;

    private long payloadBytes;
    private long payloadCreditBytes;
    private Runnable payloadWaiter;
    private BufferBudget.Waiter payloadServerWaiter;

    private int peakRequests;
    private long peakReplyBytes;
    private long peakPayloadBytes;
    private boolean closed;

    /**
     * @param name how logs name the connection (its peer address)
     * @param payloadFloorBytes the payload this connection may always hold, whatever its share:
     *     one piece of a long WRITE, so that a piece being gathered can always be completed
     */
    ConnectionBudget(
            String name,
            int maxRequests,
            long maxReplyBytes,
            long maxPayloadBytes,
            long payloadFloorBytes,
            BufferBudget server,
            Executor eventLoop) {
        this.name = name;
        this.maxRequests = maxRequests;
        this.maxReplyBytes = maxReplyBytes;
        this.maxPayloadBytes = maxPayloadBytes;
        this.payloadFloorBytes = payloadFloorBytes;
        this.server = server;
        this.eventLoop = eventLoop;
    }

    // ------------------------------------------------------------------------------ requests

    /**
     * Takes a request slot. Returns false when none is free; {@code resume} then runs on the event
     * loop once one is, and the caller retries.
     */
    boolean tryAcquireRequest(Runnable resume) {
        if (closed) {
            return false;
        }
        if (requests >= maxRequests) {
            requestWaiter = resume;
            return false;
        }
        if (requests++ == 0) {
            server.connectionBusy();
        }
        peakRequests = Math.max(peakRequests, requests);
        return true;
    }

    void releaseRequest() {
        if (--requests == 0) {
            server.connectionIdle();
        }
        if (requestWaiter != null) {
            Runnable r = requestWaiter;
            requestWaiter = null;
            // Deferred so a write listener never re-enters the decoder.
            eventLoop.execute(r);
        }
    }

    int requestsInFlight() {
        return requests;
    }

    // ------------------------------------------------------------------------------ replies

    /** What this connection may hold of replies now: its maximum, within its share less its payload. */
    long replyLimitBytes() {
        return Math.min(maxReplyBytes, server.fairShareBytes() - payloadBytes);
    }

    /**
     * Reserves {@code bytes} for reply data about to be produced. Returns false when they do not
     * fit yet; {@code resume} then runs on the event loop once they may, and the caller retries.
     */
    boolean tryReserveReply(long bytes, Runnable resume) {
        if (closed) {
            return false;
        }
        if (replyBytes > 0 && replyBytes + bytes > replyLimitBytes()) {
            replyWaiter = resume;
            return false;
        }
        if (replyGrantBytes >= 0) {
            long granted = replyGrantBytes;
            replyGrantBytes = -1;
            if (granted == bytes) {
                takeReply(bytes);
                return true;
            }
            server.release(granted);
        }
        if (replyServerWaiter != null) {
            return false;
        }
        if (holdsNothing() && server.tryAcquireReserve(bytes)) {
            replyReserveBytes += bytes;
            takeReply(bytes);
            return true;
        }
        BufferBudget.Waiter waiter = server.acquireOrWait(bytes, () -> eventLoop.execute(() -> onReplyGrant(resume)));
        if (waiter != null) {
            replyServerWaiter = waiter;
            logWaiting("reply");
            return false;
        }
        takeReply(bytes);
        return true;
    }

    /** Nothing of the server's budget is held for this connection: no replies, payload or credit. */
    private boolean holdsNothing() {
        return replyBytes == 0 && payloadBytes == 0 && payloadCreditBytes == 0;
    }

    private void takeReply(long bytes) {
        replyBytes += bytes;
        peakReplyBytes = Math.max(peakReplyBytes, replyBytes);
    }

    private void onReplyGrant(Runnable resume) {
        long granted = replyServerWaiter.bytes;
        replyServerWaiter = null;
        if (closed) {
            server.release(granted);
            return;
        }
        replyGrantBytes = granted;
        resume.run();
    }

    void releaseReply(long bytes) {
        replyBytes -= bytes;
        // Which reservation the bytes came from does not matter, only the totals: the reserve's
        // part goes back first, so it is free again by the time this connection holds nothing.
        long fromReserve = Math.min(bytes, replyReserveBytes);
        replyReserveBytes -= fromReserve;
        if (fromReserve > 0) {
            server.releaseReserve(fromReserve);
        }
        server.release(bytes - fromReserve);
        if (replyWaiter != null) {
            Runnable r = replyWaiter;
            replyWaiter = null;
            eventLoop.execute(r);
        }
    }

    long replyBytes() {
        return replyBytes;
    }

    // ------------------------------------------------------------------------------ payload

    /**
     * What this connection may hold of payload now: its maximum, within its share less its replies,
     * but always one piece, so that a piece being gathered can be completed.
     */
    long payloadLimitBytes() {
        return Math.max(payloadFloorBytes, Math.min(maxPayloadBytes, server.fairShareBytes() - replyBytes));
    }

    /**
     * How many bytes the next socket read may bring: what this connection may still take of payload
     * (by its own limit, and by the server's unless it holds a grant), at least {@code minBytes}, so
     * that a read never lands it far beyond its limit, and at most its share of {@link
     * #TURN_READ_BYTES}. Read sizes otherwise grow to a megabyte.
     */
    int socketReadBytes(int minBytes) {
        long room = Math.min(payloadLimitBytes() - payloadBytes, payloadCreditBytes + server.freeBytes());
        room = Math.min(room, TURN_READ_BYTES / Math.max(1, server.activeConnections()));
        return (int) Math.max(minBytes, Math.min(Integer.MAX_VALUE, room));
    }

    /** Counts payload bytes taken from the socket into a request; they are in memory already. */
    void chargePayload(long bytes) {
        long fromCredit = Math.min(bytes, payloadCreditBytes);
        payloadCreditBytes -= fromCredit;
        server.charge(bytes - fromCredit);
        payloadBytes += bytes;
        peakPayloadBytes = Math.max(peakPayloadBytes, payloadBytes);
    }

    /** Whether the decoder may read more payload now, and if not, what it waits for. */
    Room payloadRoom() {
        if (payloadBytes > 0 && payloadBytes >= payloadLimitBytes()) {
            return Room.CONNECTION_FULL;
        }
        if (payloadCreditBytes > 0 || server.hasRoom()) {
            return Room.YES;
        }
        return Room.SERVER_FULL;
    }

    /**
     * Arranges for {@code resume} to run on the event loop when {@code why} no longer holds: this
     * connection's own writes finished, or the server granted it {@link #RESUME_CREDIT_BYTES}.
     */
    void awaitPayloadRoom(Room why, Runnable resume) {
        if (closed) {
            return;
        }
        if (why == Room.CONNECTION_FULL) {
            payloadWaiter = resume;
            return;
        }
        if (payloadServerWaiter != null) {
            return;
        }
        BufferBudget.Waiter waiter =
                server.acquireOrWait(RESUME_CREDIT_BYTES, () -> eventLoop.execute(() -> onPayloadGrant(resume)));
        if (waiter == null) {
            payloadCreditBytes += RESUME_CREDIT_BYTES;
            eventLoop.execute(resume);
        } else {
            payloadServerWaiter = waiter;
            logWaiting("payload");
        }
    }

    private void onPayloadGrant(Runnable resume) {
        long granted = payloadServerWaiter.bytes;
        payloadServerWaiter = null;
        if (closed) {
            server.release(granted);
            return;
        }
        payloadCreditBytes += granted;
        resume.run();
    }

    /** Returns what is left of a grant once a request's payload is complete. */
    void returnPayloadCredit() {
        server.release(payloadCreditBytes);
        payloadCreditBytes = 0;
    }

    void releasePayload(long bytes) {
        if (bytes == 0) {
            return;
        }
        payloadBytes -= bytes;
        server.release(bytes);
        if (payloadWaiter != null) {
            Runnable r = payloadWaiter;
            payloadWaiter = null;
            eventLoop.execute(r);
        }
    }

    long payloadBytes() {
        return payloadBytes;
    }

    // ------------------------------------------------------------------------------ lifecycle

    /**
     * Drops every wait and every unused grant; outstanding requests, replies and payloads are
     * still released by their owners.
     */
    void close() {
        if (closed) {
            return;
        }
        closed = true;
        requestWaiter = null;
        replyWaiter = null;
        payloadWaiter = null;
        if (replyServerWaiter != null && server.cancel(replyServerWaiter)) {
            replyServerWaiter = null;
        }
        if (payloadServerWaiter != null && server.cancel(payloadServerWaiter)) {
            payloadServerWaiter = null;
        }
        if (replyGrantBytes >= 0) {
            server.release(replyGrantBytes);
            replyGrantBytes = -1;
        }
        returnPayloadCredit();
    }

    /** Limits, current use and peaks, for logs. */
    String describe() {
        return "requests " + requests + "/" + maxRequests + " (peak " + peakRequests + "), replies "
                + Sizes.format(replyBytes) + "/" + Sizes.format(replyLimitBytes()) + " (peak "
                + Sizes.format(peakReplyBytes) + "), payload " + Sizes.format(payloadBytes) + "/"
                + Sizes.format(payloadLimitBytes()) + " (peak " + Sizes.format(peakPayloadBytes) + "); server "
                + Sizes.format(server.usedBytes()) + "/" + Sizes.format(server.capacityBytes()) + ", "
                + server.activeConnections() + " busy connections";
    }

    private void logWaiting(String what) {
        LOG.log(
                System.Logger.Level.DEBUG,
                () -> name + " waits for server buffer space for " + what + ": " + describe());
    }
}
