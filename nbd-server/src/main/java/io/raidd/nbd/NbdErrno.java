package io.raidd.nbd;

import java.io.IOException;
import java.util.Locale;

/** Error values on the wire: the protocol fixes them, so they are not the host's errno. */
final class NbdErrno {
    static final int OK = 0;
    static final int EPERM = 1;
    static final int EIO = 5;
    static final int ENOMEM = 12;
    static final int EINVAL = 22;
    static final int ENOSPC = 28;
    static final int EOVERFLOW = 75;
    static final int ENOTSUP = 95;
    static final int ESHUTDOWN = 108;

    /**
     * The protocol asks for ENOSPC where the host said ENOSPC, EDQUOT or EFBIG. Java surfaces those
     * only as message text of an IOException.
     */
    static int fromIOException(IOException e) {
        String message = e.getMessage();
        if (message != null) {
            String lower = message.toLowerCase(Locale.ROOT);
            if (lower.contains("no space left")
                    || lower.contains("quota exceeded")
                    || lower.contains("file too large")) {
                return ENOSPC;
            }
        }
        return EIO;
    }

    private NbdErrno() {}
}
