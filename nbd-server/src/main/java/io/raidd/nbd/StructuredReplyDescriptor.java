package io.raidd.nbd;

/**
 * A structured reply chunk; a reply is one or more chunks with the same cookie, the last one
 * flagged DONE. Chunks of different requests may interleave.
 *
 * <pre>
 * Chunk header (20 bytes)
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |           NBD_STRUCTURED_REPLY_MAGIC 0x668e33ef               |  0
 *  +-------------------------------+-------------------------------+
 *  |     flags (bit 0 = DONE)      |          chunk type           |  4
 *  +-------------------------------+-------------------------------+
 *  |                       cookie (echoed)                         |  8
 *  |                                                               |
 *  +---------------------------------------------------------------+
 *  |                 length of chunk payload (u32)                 | 16
 *  +---------------------------------------------------------------+
 *
 * Chunk payloads
 *  NONE          (0)      empty, always DONE
 *  OFFSET_DATA   (1)      | offset u64 | data (length - 8 bytes, at least 1) |
 *  OFFSET_HOLE   (2)      | offset u64 | hole size u32 (nonzero) |
 *  BLOCK_STATUS  (5)      | context id u32 | n x ( extent length u32 | status flags u32 ) |
 *  ERROR         (32769)  | errno u32 | message length u16 | message |
 *  ERROR_OFFSET  (32770)  | errno u32 | message length u16 | message | offset u64 |
 * </pre>
 */
final class StructuredReplyDescriptor {
    static final int MAGIC = 0x668e33ef;

    static final int MAGIC_OFFSET = 0;
    static final int FLAGS_OFFSET = 4;
    static final int TYPE_OFFSET = 6;
    static final int COOKIE_OFFSET = 8;
    static final int LENGTH_OFFSET = 16;
    static final int HEADER_LENGTH = 20;

    static final int FLAG_DONE = 1;

    static final int TYPE_NONE = 0;
    static final int TYPE_OFFSET_DATA = 1;
    static final int TYPE_OFFSET_HOLE = 2;
    static final int TYPE_BLOCK_STATUS = 5;
    static final int TYPE_ERROR = (1 << 15) + 1;
    static final int TYPE_ERROR_OFFSET = (1 << 15) + 2;

    static final int OFFSET_FIELD_LENGTH = 8;
    static final int HOLE_PAYLOAD_LENGTH = 12;
    static final int CONTEXT_ID_LENGTH = 4;
    static final int EXTENT_DESCRIPTOR_LENGTH = 8;
    static final int ERROR_FIXED_LENGTH = 6;
    static final int ERROR_OFFSET_FIXED_LENGTH = 14;

    /** base:allocation status flags. */
    static final int STATE_HOLE = 1;

    static final int STATE_ZERO = 1 << 1;

    private StructuredReplyDescriptor() {}
}
