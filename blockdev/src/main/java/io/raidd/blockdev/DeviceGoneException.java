package io.raidd.blockdev;

import java.io.IOException;

/**
 * The device is no longer the one that was opened: it shrank (a read met end of file before the
 * device's size, or a write found the file shorter), it vanished (ENOENT, ENODEV, ENXIO or ESTALE
 * from I/O; its path no longer exists), or its identity changed (the path now names another file or
 * device, or its size differs from the size at open). The message names the device and what
 * changed.
 *
 * <p>Not a media error: rewriting the range (as a read error is "corrected" from redundancy) would
 * write into a file that is no longer the member, or extend a truncated one with holes that then
 * read as zeroes. The RAID layer fails the member instead, and never writes to it again.
 */
public class DeviceGoneException extends IOException {
    private static final long serialVersionUID = 1L;

    public DeviceGoneException(String message) {
        super(message);
    }

    public DeviceGoneException(String message, Throwable cause) {
        super(message, cause);
    }
}
