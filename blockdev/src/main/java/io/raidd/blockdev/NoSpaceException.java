package io.raidd.blockdev;

import java.io.IOException;

/**
 * A write, write-zeroes, punch or flush failed for lack of space on the file system under the
 * device: ENOSPC, EDQUOT or EFBIG. The device itself is fine and keeps what it holds (reads work,
 * writes into already allocated bytes may still succeed); a sparse image simply could not grow. Not a
 * reason to fail the member as a dead disk: it works again once space is freed.
 *
 * <p>The message always starts with {@value #PREFIX}, whatever the locale, because the NBD server
 * maps that text to NBD's ENOSPC.
 */
public class NoSpaceException extends IOException {
    private static final long serialVersionUID = 1L;

    /** The start of every message. */
    public static final String PREFIX = "No space left on device";

    /** {@code detail} says what failed, where; it follows {@value #PREFIX} and a colon. */
    public NoSpaceException(String detail) {
        super(PREFIX + ": " + detail);
    }

    public NoSpaceException(String detail, Throwable cause) {
        super(PREFIX + ": " + detail, cause);
    }
}
