package io.raidd.nbd;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** Parses the data of the options that carry structure (layouts in {@link OptionDescriptor}). */
final class OptionRequests {
    /** The option data does not match its documented layout: answered with ERR_INVALID. */
    static final class MalformedOptionException extends Exception {
        MalformedOptionException(String message) {
            super(message, null, false, false);
        }
    }

    /** NBD_OPT_INFO / NBD_OPT_GO: the export and which optional information items were asked for. */
    record InfoRequest(String exportName, boolean wantsName, boolean wantsDescription, boolean wantsBlockSize) {}

    /** NBD_OPT_LIST_META_CONTEXT / NBD_OPT_SET_META_CONTEXT. */
    record MetaContextRequest(String exportName, List<String> queries) {}

    static InfoRequest parseInfo(ByteBuf data) throws MalformedOptionException {
        if (data.readableBytes() < OptionDescriptor.INFO_REQUEST_MIN_LENGTH) {
            throw new MalformedOptionException("option data shorter than 6 bytes");
        }
        String name = readString(data, 2, "export name");
        int count = data.readUnsignedShort();
        if (data.readableBytes() != count * 2) {
            throw new MalformedOptionException(
                    "information request count " + count + " does not match the option length");
        }
        boolean wantsName = false;
        boolean wantsDescription = false;
        boolean wantsBlockSize = false;
        for (int i = 0; i < count; i++) {
            switch (data.readUnsignedShort()) {
                case OptionDescriptor.INFO_NAME -> wantsName = true;
                case OptionDescriptor.INFO_DESCRIPTION -> wantsDescription = true;
                case OptionDescriptor.INFO_BLOCK_SIZE -> wantsBlockSize = true;
                default -> {
                    // Unknown information requests MUST be ignored.
                }
            }
        }
        return new InfoRequest(name, wantsName, wantsDescription, wantsBlockSize);
    }

    static MetaContextRequest parseMetaContext(ByteBuf data) throws MalformedOptionException {
        String name = readString(data, 4, "export name");
        if (data.readableBytes() < 4) {
            throw new MalformedOptionException("missing query count");
        }
        long count = data.readUnsignedInt();
        List<String> queries = new ArrayList<>();
        for (long i = 0; i < count; i++) {
            String query = readString(data, 0, "query");
            if (query.indexOf(':') <= 0) {
                throw new MalformedOptionException("query '" + query + "' does not start with a namespace and a colon");
            }
            queries.add(query);
        }
        if (data.isReadable()) {
            throw new MalformedOptionException(data.readableBytes() + " bytes after the last query");
        }
        return new MetaContextRequest(name, queries);
    }

    /** Reads a u32 length and that many UTF-8 bytes, leaving at least {@code trailingBytes}. */
    private static String readString(ByteBuf data, int trailingBytes, String what) throws MalformedOptionException {
        if (data.readableBytes() < 4) {
            throw new MalformedOptionException("missing " + what + " length");
        }
        long length = data.readUnsignedInt();
        if (length > data.readableBytes() - trailingBytes) {
            throw new MalformedOptionException(what + " length " + length + " exceeds the option data");
        }
        if (length > OptionDescriptor.MAX_STRING_LENGTH) {
            throw new MalformedOptionException(what + " longer than " + OptionDescriptor.MAX_STRING_LENGTH + " bytes");
        }
        String s = data.toString(data.readerIndex(), (int) length, StandardCharsets.UTF_8);
        data.skipBytes((int) length);
        return s;
    }

    private OptionRequests() {}
}
