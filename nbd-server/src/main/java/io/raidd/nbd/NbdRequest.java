package io.raidd.nbd;

import io.netty.buffer.ByteBuf;

/**
 * One decoded transmission request. Owns its WRITE payload (a slice of the receive buffer or a
 * buffer the payload was gathered into) until {@link #releasePayload()}, and owns the
 * {@link #budgetBytes()} reserved in the connection's budget until the reply is written.
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

    NbdRequest(
            int flags,
            int type,
            long cookie,
            long offsetBytes,
            long lengthBytes,
            ByteBuf payload,
            boolean payloadSkipped,
            long budgetBytes,
            boolean budgeted) {
        this.flags = flags;
        this.type = type;
        this.cookie = cookie;
        this.offsetBytes = offsetBytes;
        this.lengthBytes = lengthBytes;
        this.payload = payload;
        this.payloadSkipped = payloadSkipped;
        this.budgetBytes = budgetBytes;
        this.budgeted = budgeted;
    }

    ByteBuf payload() {
        return payload;
    }

    /** Bytes reserved for this request in the connection budget. */
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
