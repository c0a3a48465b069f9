package io.raidd.nbd;

/**
 * The fixed-newstyle greeting, the client's flags, and the reply that ends negotiation through
 * {@code NBD_OPT_EXPORT_NAME}. All integers are big-endian.
 *
 * <pre>
 * Greeting (server -> client, 18 bytes)
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                 NBDMAGIC 0x4e42444d41474943                   |  0
 *  |                                                               |
 *  +---------------------------------------------------------------+
 *  |                 IHAVEOPT 0x49484156454f5054                   |  8
 *  |                                                               |
 *  +-------------------------------+-------------------------------+
 *  |       handshake flags         |                                 16
 *  +-------------------------------+
 *
 * Client flags (client -> server, 4 bytes)
 *  +---------------------------------------------------------------+
 *  |            client flags (C_FIXED_NEWSTYLE | C_NO_ZEROES)      |  0
 *  +---------------------------------------------------------------+
 *
 * NBD_OPT_EXPORT_NAME reply (server -> client, 10 or 134 bytes, no option-reply header)
 *  +---------------------------------------------------------------+
 *  |                       export size (u64)                       |  0
 *  |                                                               |
 *  +-------------------------------+-------------------------------+
 *  |     transmission flags        |  124 zero bytes unless           8
 *  +-------------------------------+  C_NO_ZEROES was negotiated    | 10
 *  +---------------------------------------------------------------+
 * </pre>
 */
final class HandshakeDescriptor {
    static final long NBDMAGIC = 0x4e42444d41474943L;
    static final long IHAVEOPT = 0x49484156454f5054L;

    static final int GREETING_NBDMAGIC_OFFSET = 0;
    static final int GREETING_IHAVEOPT_OFFSET = 8;
    static final int GREETING_FLAGS_OFFSET = 16;
    static final int GREETING_LENGTH = 18;

    /** Handshake flags (u16) the server sends. */
    static final int FLAG_FIXED_NEWSTYLE = 1;

    static final int FLAG_NO_ZEROES = 1 << 1;

    static final int CLIENT_FLAGS_LENGTH = 4;
    static final int CLIENT_FLAG_FIXED_NEWSTYLE = 1;
    static final int CLIENT_FLAG_NO_ZEROES = 1 << 1;
    static final int CLIENT_FLAGS_KNOWN = CLIENT_FLAG_FIXED_NEWSTYLE | CLIENT_FLAG_NO_ZEROES;

    static final int EXPORT_NAME_REPLY_SIZE_OFFSET = 0;
    static final int EXPORT_NAME_REPLY_FLAGS_OFFSET = 8;
    static final int EXPORT_NAME_REPLY_LENGTH = 10;
    static final int EXPORT_NAME_REPLY_ZEROES = 124;

    private HandshakeDescriptor() {}
}
