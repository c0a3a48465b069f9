package io.raidd.blockdev;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A raw Linux block device ({@code /dev/sdX}, {@code /dev/loopN}, {@code /dev/nvmeXnY}). Size and
 * logical sector size come from the BLKGETSIZE64 and BLKSSZGET ioctls; discard and write-zeroes go
 * to the device as BLKDISCARD and BLKZEROOUT.
 *
 * <p>The device is opened buffered, not with O_DIRECT: I/O goes through the page cache, so
 * offsets, lengths and buffers need no alignment to the sector size, and {@link #flush()}
 * (fdatasync) is what makes writes durable. A writable open is exclusive (O_EXCL on the node), so
 * a device that is mounted or assembled by md is refused with EBUSY instead of being overwritten.
 */
public final class RawBlockDevice extends ChannelBlockDevice {
    private final long sizeBytes;
    private final int logicalBlockSizeBytes;
    private volatile boolean discardUnsupported;
    private volatile boolean zeroOutUnsupported;

    private RawBlockDevice(Path path, boolean readOnly, int fd, long sizeBytes, int logicalBlockSizeBytes)
            throws IOException {
        super(path, readOnly, fd);
        this.sizeBytes = sizeBytes;
        this.logicalBlockSizeBytes = logicalBlockSizeBytes;
    }

    /** Opens a block device node; {@link BlockDevices#open} checks the file type first. */
    public static RawBlockDevice open(Path path, boolean readOnly) throws IOException {
        int flags = readOnly ? LibC.O_RDONLY | LibC.O_CLOEXEC : LibC.O_RDWR | LibC.O_CLOEXEC | LibC.O_EXCL;
        int fd;
        try {
            fd = LibC.open(path, flags);
        } catch (LibC.ErrnoException e) {
            if (e.errno() == LibC.EBUSY) {
                throw new IOException(
                        "block device " + path + " is in use (mounted, or claimed by md or another program)", e);
            }
            throw e;
        }
        try {
            long sizeBytes = LibC.ioctlGetU64(fd, path, LibC.BLKGETSIZE64, "BLKGETSIZE64");
            int sectorBytes = LibC.ioctlGetInt(fd, path, LibC.BLKSSZGET, "BLKSSZGET");
            if (sectorBytes < 512 || Integer.bitCount(sectorBytes) != 1) {
                throw new IOException("block device " + path + " reports an odd logical sector size " + sectorBytes);
            }
            // The channel is opened through fd, so it is the same device even if the node is replaced.
            return new RawBlockDevice(path, readOnly, fd, sizeBytes, sectorBytes);
        } catch (IOException | RuntimeException e) {
            try {
                LibC.close(fd, path);
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    @Override
    public long sizeBytes() {
        return sizeBytes;
    }

    @Override
    public int logicalBlockSizeBytes() {
        return logicalBlockSizeBytes;
    }

    /** BLKGETSIZE64: a device can be resized under us (losetup -c, lvreduce, a resized virtual disk). */
    @Override
    long currentSizeBytes(int fd) throws IOException {
        return LibC.ioctlGetU64(fd, path(), LibC.BLKGETSIZE64, "BLKGETSIZE64");
    }

    /**
     * No size checks around writes: a block device cannot be extended by a write. One that shrank
     * answers a write past its new end with ENOSPC and a read with end of file, both reported as
     * {@link DeviceGoneException} after a size query ({@link #failure}).
     */
    @Override
    boolean guardsSize() {
        return false;
    }

    /**
     * Discards the whole sectors inside the range (partial sectors at the ends are left alone, which
     * the discard contract allows). A device without discard support ignores the hint.
     */
    @Override
    public void discard(long offsetBytes, long lengthBytes) throws IOException {
        checkRange(offsetBytes, lengthBytes);
        ensureWritable("discard");
        long startBytes = alignUp(offsetBytes);
        long endBytes = alignDown(offsetBytes + lengthBytes);
        if (endBytes <= startBytes || discardUnsupported) {
            return;
        }
        try {
            withFd(fd -> {
                LibC.ioctlRange(fd, path(), LibC.BLKDISCARD, "BLKDISCARD", startBytes, endBytes - startBytes);
                return null;
            });
        } catch (LibC.ErrnoException e) {
            if (e.errno() != LibC.EOPNOTSUPP) {
                throw failure(e, "discard", startBytes, endBytes - startBytes);
            }
            discardUnsupported = true;
        }
    }

    /**
     * Zeroes whole sectors with BLKZEROOUT (the kernel offloads it or writes zero pages itself) and
     * writes zeroes through the page cache for partial sectors at either end.
     */
    @Override
    public void writeZeroes(long offsetBytes, long lengthBytes) throws IOException {
        checkRange(offsetBytes, lengthBytes);
        ensureWritable("write-zeroes");
        long endBytes = offsetBytes + lengthBytes;
        long alignedStartBytes = alignUp(offsetBytes);
        long alignedEndBytes = alignDown(endBytes);
        if (alignedEndBytes <= alignedStartBytes || zeroOutUnsupported) {
            writeZeroesByWriting(offsetBytes, lengthBytes);
            return;
        }
        writeZeroesByWriting(offsetBytes, alignedStartBytes - offsetBytes);
        try {
            withFd(fd -> {
                LibC.ioctlRange(
                        fd,
                        path(),
                        LibC.BLKZEROOUT,
                        "BLKZEROOUT",
                        alignedStartBytes,
                        alignedEndBytes - alignedStartBytes);
                return null;
            });
        } catch (LibC.ErrnoException e) {
            if (e.errno() != LibC.EOPNOTSUPP && e.errno() != LibC.EINVAL) {
                throw failure(e, "write-zeroes", alignedStartBytes, alignedEndBytes - alignedStartBytes);
            }
            zeroOutUnsupported = true;
            writeZeroesByWriting(alignedStartBytes, alignedEndBytes - alignedStartBytes);
        }
        writeZeroesByWriting(alignedEndBytes, endBytes - alignedEndBytes);
    }

    private long alignUp(long offsetBytes) {
        return (offsetBytes + logicalBlockSizeBytes - 1) & -(long) logicalBlockSizeBytes;
    }

    private long alignDown(long offsetBytes) {
        return offsetBytes & -(long) logicalBlockSizeBytes;
    }
}
