package io.raidd.nbd;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;

/** Encodes option replies ({@link OptionDescriptor}) and the EXPORT_NAME reply ({@link HandshakeDescriptor}). */
final class OptionReplies {
    static ByteBuf greeting(ByteBufAllocator alloc) {
        ByteBuf buf = alloc.buffer(HandshakeDescriptor.GREETING_LENGTH);
        buf.writeLong(HandshakeDescriptor.NBDMAGIC);
        buf.writeLong(HandshakeDescriptor.IHAVEOPT);
        buf.writeShort(HandshakeDescriptor.FLAG_FIXED_NEWSTYLE | HandshakeDescriptor.FLAG_NO_ZEROES);
        return buf;
    }

    static ByteBuf exportNameReply(ByteBufAllocator alloc, long sizeBytes, int transmissionFlags, boolean noZeroes) {
        int length = HandshakeDescriptor.EXPORT_NAME_REPLY_LENGTH
                + (noZeroes ? 0 : HandshakeDescriptor.EXPORT_NAME_REPLY_ZEROES);
        ByteBuf buf = alloc.buffer(length);
        buf.writeLong(sizeBytes);
        buf.writeShort(transmissionFlags);
        if (!noZeroes) {
            buf.writeZero(HandshakeDescriptor.EXPORT_NAME_REPLY_ZEROES);
        }
        return buf;
    }

    static ByteBuf ack(ByteBufAllocator alloc, int option) {
        return header(alloc, option, OptionDescriptor.REP_ACK, 0);
    }

    static ByteBuf error(ByteBufAllocator alloc, int option, int replyType, String message) {
        byte[] text = Replies.messageBytes(message);
        ByteBuf buf = header(alloc, option, replyType, text.length);
        buf.writeBytes(text);
        return buf;
    }

    static ByteBuf server(ByteBufAllocator alloc, String name, String description) {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        byte[] d = description.getBytes(StandardCharsets.UTF_8);
        ByteBuf buf = header(alloc, OptionDescriptor.OPT_LIST, OptionDescriptor.REP_SERVER, 4 + n.length + d.length);
        buf.writeInt(n.length);
        buf.writeBytes(n);
        buf.writeBytes(d);
        return buf;
    }

    static ByteBuf infoExport(ByteBufAllocator alloc, int option, long sizeBytes, int transmissionFlags) {
        ByteBuf buf = header(alloc, option, OptionDescriptor.REP_INFO, OptionDescriptor.INFO_EXPORT_LENGTH);
        buf.writeShort(OptionDescriptor.INFO_EXPORT);
        buf.writeLong(sizeBytes);
        buf.writeShort(transmissionFlags);
        return buf;
    }

    /** NBD_INFO_NAME or NBD_INFO_DESCRIPTION: a type followed by a string. */
    static ByteBuf infoString(ByteBufAllocator alloc, int option, int infoType, String value) {
        byte[] v = value.getBytes(StandardCharsets.UTF_8);
        ByteBuf buf = header(alloc, option, OptionDescriptor.REP_INFO, OptionDescriptor.INFO_TYPE_LENGTH + v.length);
        buf.writeShort(infoType);
        buf.writeBytes(v);
        return buf;
    }

    static ByteBuf infoBlockSize(ByteBufAllocator alloc, int option, int minimum, int preferred, int maximum) {
        ByteBuf buf = header(alloc, option, OptionDescriptor.REP_INFO, OptionDescriptor.INFO_BLOCK_SIZE_LENGTH);
        buf.writeShort(OptionDescriptor.INFO_BLOCK_SIZE);
        buf.writeInt(minimum);
        buf.writeInt(preferred);
        buf.writeInt(maximum);
        return buf;
    }

    static ByteBuf metaContext(ByteBufAllocator alloc, int option, int contextId, String name) {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        ByteBuf buf = header(alloc, option, OptionDescriptor.REP_META_CONTEXT, 4 + n.length);
        buf.writeInt(contextId);
        buf.writeBytes(n);
        return buf;
    }

    private static ByteBuf header(ByteBufAllocator alloc, int option, int replyType, int dataLength) {
        ByteBuf buf = alloc.buffer(OptionDescriptor.REPLY_HEADER_LENGTH + dataLength);
        buf.writeLong(OptionDescriptor.REPLY_MAGIC);
        buf.writeInt(option);
        buf.writeInt(replyType);
        buf.writeInt(dataLength);
        return buf;
    }

    private OptionReplies() {}
}
