package io.raidd.nbd;

import static io.raidd.nbd.StructuredReplyDescriptor.FLAG_DONE;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;

/**
 * Encodes transmission-phase replies ({@link SimpleReplyDescriptor}, {@link
 * StructuredReplyDescriptor}). Buffers that carry READ data are allocated with room for the data
 * behind the header, so the device reads straight into the buffer that goes to the socket.
 */
final class Replies {
    static ByteBuf simple(ByteBufAllocator alloc, long cookie, int errno) {
        ByteBuf buf = alloc.directBuffer(SimpleReplyDescriptor.HEADER_LENGTH);
        writeSimpleHeader(buf, cookie, errno);
        return buf;
    }

    /** A simple reply header with capacity for {@code dataLength} bytes of data behind it (may be 0). */
    static ByteBuf simpleWithRoom(ByteBufAllocator alloc, long cookie, int dataLength) {
        ByteBuf buf = alloc.directBuffer(SimpleReplyDescriptor.HEADER_LENGTH + dataLength);
        writeSimpleHeader(buf, cookie, NbdErrno.OK);
        return buf;
    }

    private static void writeSimpleHeader(ByteBuf buf, long cookie, int errno) {
        buf.writeInt(SimpleReplyDescriptor.MAGIC);
        buf.writeInt(errno);
        buf.writeLong(cookie);
    }

    static void writeChunkHeader(ByteBuf buf, boolean done, int type, long cookie, int payloadLength) {
        buf.writeInt(StructuredReplyDescriptor.MAGIC);
        buf.writeShort(done ? FLAG_DONE : 0);
        buf.writeShort(type);
        buf.writeLong(cookie);
        buf.writeInt(payloadLength);
    }

    /** Marks an already-encoded chunk as the last one of its reply. */
    static void markDone(ByteBuf chunk) {
        int at = chunk.readerIndex() + StructuredReplyDescriptor.FLAGS_OFFSET;
        chunk.setShort(at, chunk.getUnsignedShort(at) | FLAG_DONE);
    }

    static ByteBuf none(ByteBufAllocator alloc, long cookie) {
        ByteBuf buf = alloc.directBuffer(StructuredReplyDescriptor.HEADER_LENGTH);
        writeChunkHeader(buf, true, StructuredReplyDescriptor.TYPE_NONE, cookie, 0);
        return buf;
    }

    /** An OFFSET_DATA chunk header plus offset, with capacity for the data the caller appends. */
    static ByteBuf dataWithRoom(ByteBufAllocator alloc, long cookie, boolean done, long offset, int dataLength) {
        return dataHeader(alloc, cookie, done, offset, dataLength, dataLength);
    }

    /**
     * An OFFSET_DATA chunk header plus offset announcing {@code dataLength} bytes, with capacity for
     * {@code room} of them behind it (0 when the data follows in buffers of its own).
     */
    static ByteBuf dataHeader(
            ByteBufAllocator alloc, long cookie, boolean done, long offset, int dataLength, int room) {
        int payload = StructuredReplyDescriptor.OFFSET_FIELD_LENGTH + dataLength;
        ByteBuf buf = alloc.directBuffer(
                StructuredReplyDescriptor.HEADER_LENGTH + StructuredReplyDescriptor.OFFSET_FIELD_LENGTH + room);
        writeChunkHeader(buf, done, StructuredReplyDescriptor.TYPE_OFFSET_DATA, cookie, payload);
        buf.writeLong(offset);
        return buf;
    }

    static ByteBuf hole(ByteBufAllocator alloc, long cookie, boolean done, long offset, int holeLength) {
        ByteBuf buf = alloc.directBuffer(
                StructuredReplyDescriptor.HEADER_LENGTH + StructuredReplyDescriptor.HOLE_PAYLOAD_LENGTH);
        writeChunkHeader(
                buf,
                done,
                StructuredReplyDescriptor.TYPE_OFFSET_HOLE,
                cookie,
                StructuredReplyDescriptor.HOLE_PAYLOAD_LENGTH);
        buf.writeLong(offset);
        buf.writeInt(holeLength);
        return buf;
    }

    /** A final ERROR chunk; the message is for humans and is cut to the protocol's string limit. */
    static ByteBuf error(ByteBufAllocator alloc, long cookie, int errno, String message) {
        byte[] text = messageBytes(message);
        int payload = StructuredReplyDescriptor.ERROR_FIXED_LENGTH + text.length;
        ByteBuf buf = alloc.directBuffer(StructuredReplyDescriptor.HEADER_LENGTH + payload);
        writeChunkHeader(buf, true, StructuredReplyDescriptor.TYPE_ERROR, cookie, payload);
        buf.writeInt(errno);
        buf.writeShort(text.length);
        buf.writeBytes(text);
        return buf;
    }

    static ByteBuf errorAt(ByteBufAllocator alloc, long cookie, boolean done, int errno, String message, long offset) {
        byte[] text = messageBytes(message);
        int payload = StructuredReplyDescriptor.ERROR_OFFSET_FIXED_LENGTH + text.length;
        ByteBuf buf = alloc.directBuffer(StructuredReplyDescriptor.HEADER_LENGTH + payload);
        writeChunkHeader(buf, done, StructuredReplyDescriptor.TYPE_ERROR_OFFSET, cookie, payload);
        buf.writeInt(errno);
        buf.writeShort(text.length);
        buf.writeBytes(text);
        buf.writeLong(offset);
        return buf;
    }

    /** A final BLOCK_STATUS chunk for one metadata context. */
    static ByteBuf blockStatus(ByteBufAllocator alloc, long cookie, int contextId, AllocationExtents.Descriptors d) {
        int payload = StructuredReplyDescriptor.CONTEXT_ID_LENGTH
                + d.count() * StructuredReplyDescriptor.EXTENT_DESCRIPTOR_LENGTH;
        ByteBuf buf = alloc.directBuffer(StructuredReplyDescriptor.HEADER_LENGTH + payload);
        writeChunkHeader(buf, true, StructuredReplyDescriptor.TYPE_BLOCK_STATUS, cookie, payload);
        buf.writeInt(contextId);
        for (int i = 0; i < d.count(); i++) {
            buf.writeInt((int) d.length(i));
            buf.writeInt(d.flags(i));
        }
        return buf;
    }

    static byte[] messageBytes(String message) {
        byte[] text = message == null ? new byte[0] : message.getBytes(StandardCharsets.UTF_8);
        if (text.length <= OptionDescriptor.MAX_STRING_LENGTH) {
            return text;
        }
        // Cut on a character boundary so the result stays valid UTF-8.
        int end = OptionDescriptor.MAX_STRING_LENGTH;
        while (end > 0 && (text[end] & 0xC0) == 0x80) {
            end--;
        }
        byte[] cut = new byte[end];
        System.arraycopy(text, 0, cut, 0, end);
        return cut;
    }

    private Replies() {}
}
