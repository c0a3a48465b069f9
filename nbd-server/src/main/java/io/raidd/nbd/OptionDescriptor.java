package io.raidd.nbd;

/**
 * Option haggling: the option request the client sends and the option reply the server answers
 * with (fixed newstyle). All integers are big-endian.
 *
 * <pre>
 * Option request (client -> server): 16-byte header, then 'length' bytes of data
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                 IHAVEOPT 0x49484156454f5054                   |  0
 *  |                                                               |
 *  +---------------------------------------------------------------+
 *  |                         option (u32)                          |  8
 *  +---------------------------------------------------------------+
 *  |                  length of option data (u32)                  | 12
 *  +---------------------------------------------------------------+
 *  |                     option data ...                           | 16
 *
 * Option reply (server -> client): 20-byte header, then 'length' bytes of data
 *  +---------------------------------------------------------------+
 *  |                 reply magic 0x0003e889045565a9                |  0
 *  |                                                               |
 *  +---------------------------------------------------------------+
 *  |                 option being answered (u32)                   |  8
 *  +---------------------------------------------------------------+
 *  |          reply type (u32; bit 31 set means error)             | 12
 *  +---------------------------------------------------------------+
 *  |                  length of reply data (u32)                   | 16
 *  +---------------------------------------------------------------+
 *  |                     reply data ...                            | 20
 *
 * NBD_OPT_INFO / NBD_OPT_GO data
 *  | name length u32 | name | info request count u16 | count x info type u16 |
 *
 * NBD_OPT_LIST_META_CONTEXT / NBD_OPT_SET_META_CONTEXT data
 *  | name length u32 | name | query count u32 | count x ( query length u32 | query ) |
 *
 * NBD_REP_SERVER data      | name length u32 | name | description (rest) |
 * NBD_REP_INFO data        | info type u16 | info payload |
 *   NBD_INFO_EXPORT        | u16 0 | size u64 | transmission flags u16 |            (12 bytes)
 *   NBD_INFO_NAME          | u16 1 | name |
 *   NBD_INFO_DESCRIPTION   | u16 2 | description |
 *   NBD_INFO_BLOCK_SIZE    | u16 3 | minimum u32 | preferred u32 | maximum u32 |   (14 bytes)
 * NBD_REP_META_CONTEXT     | context id u32 | context name |
 * error replies            | optional UTF-8 message for humans |
 * </pre>
 */
final class OptionDescriptor {
    static final int REQUEST_MAGIC_OFFSET = 0;
    static final int REQUEST_OPTION_OFFSET = 8;
    static final int REQUEST_LENGTH_OFFSET = 12;
    static final int REQUEST_HEADER_LENGTH = 16;

    static final long REPLY_MAGIC = 0x0003e889045565a9L;
    static final int REPLY_MAGIC_OFFSET = 0;
    static final int REPLY_OPTION_OFFSET = 8;
    static final int REPLY_TYPE_OFFSET = 12;
    static final int REPLY_LENGTH_OFFSET = 16;
    static final int REPLY_HEADER_LENGTH = 20;

    /**
     * Largest option data we buffer. The biggest legitimate option is a SET_META_CONTEXT with a
     * handful of 4 KiB strings; anything larger is skipped without buffering and refused.
     */
    static final int MAX_BUFFERED_OPTION_LENGTH = 64 * 1024;

    /** Strings (export names, queries, messages) MUST NOT exceed this many bytes. */
    static final int MAX_STRING_LENGTH = 4096;

    static final int OPT_EXPORT_NAME = 1;
    static final int OPT_ABORT = 2;
    static final int OPT_LIST = 3;
    static final int OPT_STARTTLS = 5;
    static final int OPT_INFO = 6;
    static final int OPT_GO = 7;
    static final int OPT_STRUCTURED_REPLY = 8;
    static final int OPT_LIST_META_CONTEXT = 9;
    static final int OPT_SET_META_CONTEXT = 10;

    static final int REP_ACK = 1;
    static final int REP_SERVER = 2;
    static final int REP_INFO = 3;
    static final int REP_META_CONTEXT = 4;

    private static final int REP_ERROR_BIT = 0x8000_0000;
    static final int REP_ERR_UNSUP = REP_ERROR_BIT | 1;
    static final int REP_ERR_POLICY = REP_ERROR_BIT | 2;
    static final int REP_ERR_INVALID = REP_ERROR_BIT | 3;
    static final int REP_ERR_PLATFORM = REP_ERROR_BIT | 4;
    static final int REP_ERR_TLS_REQD = REP_ERROR_BIT | 5;
    static final int REP_ERR_UNKNOWN = REP_ERROR_BIT | 6;
    static final int REP_ERR_SHUTDOWN = REP_ERROR_BIT | 7;
    static final int REP_ERR_BLOCK_SIZE_REQD = REP_ERROR_BIT | 8;
    static final int REP_ERR_TOO_BIG = REP_ERROR_BIT | 9;

    static final int INFO_EXPORT = 0;
    static final int INFO_NAME = 1;
    static final int INFO_DESCRIPTION = 2;
    static final int INFO_BLOCK_SIZE = 3;

    static final int INFO_TYPE_LENGTH = 2;
    static final int INFO_EXPORT_LENGTH = 12;
    static final int INFO_BLOCK_SIZE_LENGTH = 14;

    /** INFO/GO data: u32 name length + u16 request count is the smallest valid payload. */
    static final int INFO_REQUEST_MIN_LENGTH = 6;

    static final String BASE_ALLOCATION = "base:allocation";
    static final String BASE_NAMESPACE = "base:";

    static boolean isError(int replyType) {
        return (replyType & REP_ERROR_BIT) != 0;
    }

    /** True for options this server implements (used to pick ERR_UNSUP versus ERR_TOO_BIG). */
    static boolean isKnown(int option) {
        return switch (option) {
            case OPT_EXPORT_NAME,
                    OPT_ABORT,
                    OPT_LIST,
                    OPT_STARTTLS,
                    OPT_INFO,
                    OPT_GO,
                    OPT_STRUCTURED_REPLY,
                    OPT_LIST_META_CONTEXT,
                    OPT_SET_META_CONTEXT -> true;
            default -> false;
        };
    }

    private OptionDescriptor() {}
}
