package io.raidd.nbd;

/**
 * A transmission-phase request (compact headers; extended headers are not negotiated).
 *
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                 NBD_REQUEST_MAGIC 0x25609513                  |  0
 *  +-------------------------------+-------------------------------+
 *  |        command flags          |          type                 |  4
 *  +-------------------------------+-------------------------------+
 *  |                       cookie (opaque u64)                     |  8
 *  |                                                               |
 *  +---------------------------------------------------------------+
 *  |                       offset (u64)                            | 16
 *  |                                                               |
 *  +---------------------------------------------------------------+
 *  |                       length (u32)                            | 24
 *  +---------------------------------------------------------------+
 *  |          'length' bytes of payload, NBD_CMD_WRITE only        | 28
 * </pre>
 */
final class RequestDescriptor {
    static final int MAGIC = 0x25609513;

    static final int MAGIC_OFFSET = 0;
    static final int FLAGS_OFFSET = 4;
    static final int TYPE_OFFSET = 6;
    static final int COOKIE_OFFSET = 8;
    static final int OFFSET_OFFSET = 16;
    static final int LENGTH_OFFSET = 24;
    static final int HEADER_LENGTH = 28;

    static final int CMD_READ = 0;
    static final int CMD_WRITE = 1;
    static final int CMD_DISC = 2;
    static final int CMD_FLUSH = 3;
    static final int CMD_TRIM = 4;
    static final int CMD_CACHE = 5;
    static final int CMD_WRITE_ZEROES = 6;
    static final int CMD_BLOCK_STATUS = 7;

    static final int FLAG_FUA = 1;
    static final int FLAG_NO_HOLE = 1 << 1;
    static final int FLAG_DF = 1 << 2;
    static final int FLAG_REQ_ONE = 1 << 3;
    static final int FLAG_FAST_ZERO = 1 << 4;

    /** Flags each command may carry before negotiation narrows them further (FUA, DF). */
    static int flagsAllowedFor(int type) {
        return switch (type) {
            case CMD_READ -> FLAG_FUA | FLAG_DF;
            case CMD_WRITE, CMD_DISC, CMD_FLUSH, CMD_TRIM, CMD_CACHE -> FLAG_FUA;
            case CMD_WRITE_ZEROES -> FLAG_FUA | FLAG_NO_HOLE | FLAG_FAST_ZERO;
            case CMD_BLOCK_STATUS -> FLAG_FUA | FLAG_REQ_ONE;
            default -> 0;
        };
    }

    static String commandName(int type) {
        return switch (type) {
            case CMD_READ -> "READ";
            case CMD_WRITE -> "WRITE";
            case CMD_DISC -> "DISC";
            case CMD_FLUSH -> "FLUSH";
            case CMD_TRIM -> "TRIM";
            case CMD_CACHE -> "CACHE";
            case CMD_WRITE_ZEROES -> "WRITE_ZEROES";
            case CMD_BLOCK_STATUS -> "BLOCK_STATUS";
            default -> "UNKNOWN(" + type + ")";
        };
    }

    private RequestDescriptor() {}
}
