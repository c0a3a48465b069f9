package io.raidd.nbd;

import io.netty.buffer.ByteBuf;

/**
 * Part of a long WRITE's payload, handed on as soon as it has arrived so that it can be written to
 * the device and its memory returned while the rest is still coming: a client sending 32 MiB at a
 * trickle, or faster than the server may buffer, holds at most about one piece. Pieces of one
 * request arrive in order and end on multiples of {@link NbdRequestDecoder#pieceBytes} (a RAID
 * stripe multiple) in device offsets, except when the server ran out of room and the decoder wrote
 * out what it had.
 */
final class WritePiece {
    final NbdRequest request;
    final long offsetBytes;
    final boolean first;
    final boolean last;
    final int lengthBytes;
    private ByteBuf payload;

    WritePiece(NbdRequest request, long offsetBytes, ByteBuf payload, boolean first, boolean last) {
        this.request = request;
        this.offsetBytes = offsetBytes;
        this.payload = payload;
        this.lengthBytes = payload.readableBytes();
        this.first = first;
        this.last = last;
    }

    ByteBuf payload() {
        return payload;
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
        return "piece of " + request + " at " + Long.toUnsignedString(offsetBytes) + (last ? " (last)" : "");
    }
}
