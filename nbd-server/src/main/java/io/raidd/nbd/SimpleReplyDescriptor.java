package io.raidd.nbd;

/**
 * The simple reply: the only reply form before structured replies are negotiated, and still
 * allowed afterwards for every command but READ when it carries no payload.
 *
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |              NBD_SIMPLE_REPLY_MAGIC 0x67446698                |  0
 *  +---------------------------------------------------------------+
 *  |                       error (u32, 0 = ok)                     |  4
 *  +---------------------------------------------------------------+
 *  |                       cookie (echoed)                         |  8
 *  |                                                               |
 *  +---------------------------------------------------------------+
 *  |    READ with error 0 only: exactly 'length' bytes of data     | 16
 * </pre>
 */
final class SimpleReplyDescriptor {
    static final int MAGIC = 0x67446698;

    static final int MAGIC_OFFSET = 0;
    static final int ERROR_OFFSET = 4;
    static final int COOKIE_OFFSET = 8;
    static final int HEADER_LENGTH = 16;

    private SimpleReplyDescriptor() {}
}
