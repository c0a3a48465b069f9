package io.raidd.nbd;

/**
 * The 16 transmission flags sent with the export size (EXPORT_NAME reply and INFO_EXPORT). A
 * client must not use a feature whose flag is clear, so the same function computes them for
 * INFO and GO, which the protocol requires to agree.
 */
final class TransmissionFlags {
    static final int HAS_FLAGS = 1;
    static final int READ_ONLY = 1 << 1;
    static final int SEND_FLUSH = 1 << 2;
    static final int SEND_FUA = 1 << 3;
    static final int ROTATIONAL = 1 << 4;
    static final int SEND_TRIM = 1 << 5;
    static final int SEND_WRITE_ZEROES = 1 << 6;
    static final int SEND_DF = 1 << 7;
    static final int CAN_MULTI_CONN = 1 << 8;
    static final int SEND_RESIZE = 1 << 9;
    static final int SEND_CACHE = 1 << 10;
    static final int SEND_FAST_ZERO = 1 << 11;

    /**
     * CAN_MULTI_CONN is always safe here: every connection of an export calls the same
     * BlockDevice, the server keeps no per-connection cache, and FLUSH flushes the device itself.
     * SEND_FAST_ZERO is offered even for exports that cannot zero fast, because the spec lets the
     * server answer ENOTSUP quickly, which is exactly what a copying client wants to learn.
     */
    static int forExport(boolean readOnly, boolean structuredReplies) {
        int flags = HAS_FLAGS | SEND_FLUSH | SEND_CACHE | CAN_MULTI_CONN;
        if (readOnly) {
            flags |= READ_ONLY;
        } else {
            flags |= SEND_FUA | SEND_TRIM | SEND_WRITE_ZEROES | SEND_FAST_ZERO;
        }
        if (structuredReplies) {
            flags |= SEND_DF;
        }
        return flags;
    }

    private TransmissionFlags() {}
}
