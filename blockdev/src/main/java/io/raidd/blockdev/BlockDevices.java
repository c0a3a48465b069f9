package io.raidd.blockdev;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** Opens whatever a path names: an image file or a raw block device. */
public final class BlockDevices {
    /** {@code <sys/stat.h>}: the file-type bits of st_mode. */
    private static final int S_IFMT = 0170000;
    /** {@code <sys/stat.h>}: block device. */
    private static final int S_IFBLK = 0060000;
    /** {@code <sys/stat.h>}: character device. */
    private static final int S_IFCHR = 0020000;
    /** {@code <sys/stat.h>}: directory. */
    private static final int S_IFDIR = 0040000;
    /** {@code <sys/stat.h>}: regular file. */
    private static final int S_IFREG = 0100000;

    private BlockDevices() {}

    /**
     * Opens a regular file as a {@link FileBlockDevice} or a block device node as a {@link
     * RawBlockDevice} (symbolic links are followed). Anything else is refused with a one-line
     * message saying what the path is.
     */
    public static BlockDevice open(Path path, boolean readOnly) throws IOException {
        int type = fileType(path);
        switch (type) {
            case S_IFREG:
                return FileBlockDevice.open(path, readOnly);
            case S_IFBLK:
                return RawBlockDevice.open(path, readOnly);
            case S_IFDIR:
                throw new IOException(path + " is a directory, not an image file or block device");
            case S_IFCHR:
                throw new IOException(path + " is a character device, not an image file or block device");
            default:
                throw new IOException(path + " is not an image file or block device (file type 0"
                        + Integer.toOctalString(type) + ")");
        }
    }

    /**
     * Creates a sparse image of {@code sizeBytes} if nothing exists at {@code path}; otherwise opens
     * what is there read-write (image or block device) and checks it holds at least {@code
     * sizeBytes}. An existing larger device is returned as is.
     */
    public static BlockDevice createOrOpenImage(Path path, long sizeBytes) throws IOException {
        if (!Files.exists(path)) {
            try {
                return FileBlockDevice.create(path, sizeBytes);
            } catch (FileAlreadyExistsException raced) {
                // Someone created it between the check and the create; open theirs below.
            }
        }
        BlockDevice device = open(path, false);
        if (device.sizeBytes() < sizeBytes) {
            long actualBytes = device.sizeBytes();
            device.close();
            throw new IOException(path + " holds " + actualBytes + " bytes, less than the " + sizeBytes + " requested");
        }
        return device;
    }

    private static int fileType(Path path) throws IOException {
        Object mode;
        try {
            mode = Files.readAttributes(path, "unix:mode").get("mode");
        } catch (NoSuchFileException e) {
            throw new NoSuchFileException(path.toString(), null, "no such image file or block device");
        } catch (UnsupportedOperationException e) {
            throw new IOException("cannot tell the file type of " + path + ": no unix attributes on this platform", e);
        }
        return ((Integer) mode) & S_IFMT;
    }
}
