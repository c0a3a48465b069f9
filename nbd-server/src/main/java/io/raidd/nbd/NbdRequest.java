package io.raidd.nbd;

import io.netty.buffer.ByteBuf;

/**
 * One decoded transmission request. Owns its WRITE payload (a slice of the receive buffer or a
 * buffer the payload was gathered into) until {@link #releasePayload()}, and owns one request slot
 * and the {@link #budgetBytes()} of payload counted in the connection's budget until the reply is
 * written. A WRITE whose payload reaches the server in {@link WritePiece}s carries no payload
 * itself; its {@link #pieces} track them.
 */
final class NbdRequest {
    final int flags;
    final int type;
    final long cookie;
    /** Unsigned on the wire; values with the top bit set are beyond any export. */
    final long offsetBytes;
    /** Unsigned 32-bit length widened to long. */
    final long lengthBytes;

    private ByteBuf payload;
    /** A WRITE whose payload exceeded the maximum payload and was skipped without buffering. */
    final boolean payloadSkipped;

    private final long budgetBytes;
    private final boolean budgeted;

    /** Non-null for a WRITE whose payload arrives in pieces. Event loop only. */
    final PiecedWrite pieces;

    NbdRequest(
            int flags,
            int type,
            long cookie,
            long offsetBytes,
            long lengthBytes,
            ByteBuf payload,
            boolean payloadSkipped,
            long budgetBytes,
            boolean budgeted,
            boolean pieced) {
        this.flags = flags;
        this.type = type;
        this.cookie = cookie;
        this.offsetBytes = offsetBytes;
        this.lengthBytes = lengthBytes;
        this.payload = payload;
        this.payloadSkipped = payloadSkipped;
        this.budgetBytes = budgetBytes;
        this.budgeted = budgeted;
        this.pieces = pieced ? new PiecedWrite() : null;
    }

    /**
     * The progress of a WRITE executed piece by piece as its payload arrives: pieces executing,
     * whether the last one arrived, the refusal or first failure to answer with.
     */
    static final class PiecedWrite {
        int executing;
        boolean lastArrived;
        boolean answered;
        CommandExecutor.Refusal refusal;
        int errno;
        String message;
    }

    ByteBuf payload() {
        return payload;
    }

    /** Payload bytes counted for this request in the connection budget, returned with its reply. */
    long budgetBytes() {
        return budgetBytes;
    }

    /** False for DISC, which takes no budget. */
    boolean budgeted() {
        return budgeted;
    }

    boolean hasFlag(int flag) {
        return (flags & flag) != 0;
    }

    void releasePayload() {
        ByteBuf p = payload;
        payload = null;
        if (p != null) {
            p.release();
        }
    }

    @Override
    public String toString() {
        return RequestDescriptor.commandName(type) + "[cookie=" + Long.toHexString(cookie) + ", offset="
                + Long.toUnsignedString(offsetBytes) + ", length=" + lengthBytes + ", flags=0x"
                + Integer.toHexString(flags)
                + "]";
    }
}
