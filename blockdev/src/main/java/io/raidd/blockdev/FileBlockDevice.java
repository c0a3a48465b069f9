package io.raidd.blockdev;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * A block device backed by a regular (image) file. Images are created sparse unless asked to be
 * preallocated; {@link #discard} and {@link #writeZeroes} punch holes ({@code fallocate(PUNCH_HOLE
 * | KEEP_SIZE)}) so freed space goes back to the file system, and {@link #allocation} reports holes
 * via {@code SEEK_DATA}/{@code SEEK_HOLE}. On file systems that cannot punch holes both fall back to
 * writing zeroes.
 *
 * <p>The size is the file's size when opened; I/O is buffered through the page cache and made
 * durable by {@link #flush()} (fdatasync).
 *
 * <p>The file may change under us (another program truncates, deletes or replaces it; its file
 * system fills up). A read past the file's current end, or any write, write-zeroes or discard while
 * the file is shorter than at open, throws {@link DeviceGoneException} without writing: a write
 * would extend the file with holes that read as zeroes. A write that found no space throws {@link
 * NoSpaceException}. {@link #checkIdentity} tells a watchdog when the path no longer names our file.
 */
public final class FileBlockDevice extends ChannelBlockDevice {
    private static final int LOGICAL_BLOCK_BYTES = 512;
    private static final int PREALLOCATE_CHUNK_BYTES = 1 << 20;

    private final long sizeBytes;
    /**
     * Created preallocated: write-zeroes and discard zero in place (FALLOC_FL_ZERO_RANGE, or zeroes
     * written) instead of punching holes, which a later write would need space to fill again.
     */
    private final boolean keepAllocated;
    /** Set once the file system said EOPNOTSUPP, so later calls skip straight to the fallback. */
    private volatile boolean punchUnsupported;

    private volatile boolean zeroRangeUnsupported;

    /** How {@link #readIfCached} can tell that a read will not wait, from the file system type. */
    private enum CachedReads {
        /** tmpfs, ramfs: the file's pages are memory (swap aside), a plain read never waits for a disk. */
        ALWAYS,
        /** Local disk file systems: {@code preadv2(RWF_NOWAIT)} fails instead of waiting. */
        NO_WAIT,
        /**
         * Anything else (FUSE, NFS, ...): even a read of cached pages may ask a server that hangs
         * (attribute revalidation), and an event loop must never wait for one.
         */
        NEVER
    }

    private volatile CachedReads cachedReads;

    private FileBlockDevice(Path path, boolean readOnly, int fd, boolean keepAllocated) throws IOException {
        super(path, readOnly, fd);
        this.sizeBytes = openedStat().sizeBytes();
        this.keepAllocated = keepAllocated;
        this.cachedReads = cachedReadsOn(LibC.fileSystemType(fd, path));
    }

    /**
     * Creates a sparse image of {@code sizeBytes} (a positive multiple of 512) and opens it
     * read-write. Fails if anything already exists at {@code path}. The new file and its directory
     * entry are made durable before this returns.
     */
    public static FileBlockDevice create(Path path, long sizeBytes) throws IOException {
        return create(path, sizeBytes, false);
    }

    /**
     * Like {@link #create(Path, long)}, but with {@code preallocate} every block is allocated now
     * ({@code fallocate} mode 0, as {@code posix_fallocate}; by writing zeroes where the file system
     * cannot), so that writes can never fail for lack of space later. Fails with {@link
     * NoSpaceException}, leaving nothing behind, when the file system cannot hold the image.
     *
     * <p>The device returned for a preallocated image keeps it allocated: {@link #writeZeroes} and
     * {@link #discard} zero in place instead of punching holes (so formatting the new member leaves it
     * whole), and so does a later {@link #open}, which sees the file fully allocated.
     */
    public static FileBlockDevice create(Path path, long sizeBytes, boolean preallocate) throws IOException {
        if (sizeBytes <= 0 || sizeBytes % LOGICAL_BLOCK_BYTES != 0) {
            throw new IllegalArgumentException(
                    "image size must be a positive multiple of " + LOGICAL_BLOCK_BYTES + " bytes, got " + sizeBytes);
        }
        try {
            Files.createFile(path);
        } catch (FileAlreadyExistsException e) {
            throw new FileAlreadyExistsException(
                    path.toString(), null, "cannot create image, it already exists (open it instead)");
        }
        try {
            // RandomAccessFile.setLength is ftruncate: it extends without allocating, so the image is sparse.
            try (RandomAccessFile file = new RandomAccessFile(path.toFile(), "rw")) {
                file.setLength(sizeBytes);
                if (preallocate) {
                    allocate(path, file.getChannel(), sizeBytes);
                }
                file.getChannel().force(true);
            }
            syncDirectory(path.toAbsolutePath().getParent());
            return open(path, false, preallocate);
        } catch (IOException | RuntimeException e) {
            try {
                Files.deleteIfExists(path);
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    /**
     * Opens an existing image file; its current size becomes the device size. An image that is
     * fully allocated (created with {@code --preallocate}, or written everywhere) stays so: discards
     * and write-zeroes zero in place instead of punching holes that could later need space the file
     * system no longer has.
     */
    public static FileBlockDevice open(Path path, boolean readOnly) throws IOException {
        boolean allocated = false;
        if (!readOnly && Files.isRegularFile(path)) {
            allocated = allocatedBytes(path) >= Files.size(path);
        }
        return open(path, readOnly, allocated);
    }

    private static FileBlockDevice open(Path path, boolean readOnly, boolean keepAllocated) throws IOException {
        if (!Files.exists(path)) {
            throw new NoSuchFileException(path.toString(), null, "image file does not exist");
        }
        if (!Files.isRegularFile(path)) {
            throw new IOException("not a regular file: " + path + " (use BlockDevices.open for block devices)");
        }
        // The libc descriptor first; the channel is opened through it, so both are the same file.
        int fd = LibC.open(path, (readOnly ? LibC.O_RDONLY : LibC.O_RDWR) | LibC.O_CLOEXEC);
        try {
            return new FileBlockDevice(path, readOnly, fd, keepAllocated);
        } catch (IOException | RuntimeException e) {
            try {
                LibC.close(fd, path);
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    /**
     * Bytes the file system has allocated for {@code file} ({@code st_blocks} × 512), following
     * symbolic links. Less than its size for a sparse file; the difference is what writes into its
     * holes may still need.
     */
    public static long allocatedBytes(Path file) throws IOException {
        return LibC.stat(file).allocatedBytes();
    }

    /**
     * A read-only channel on this device's file, for mapping. The JDK extends a file that is shorter
     * than a region mapped through a writable channel, whatever the map mode; a read must never do
     * that to a file shrunk under us. Reopened through our own descriptor, so it is the same file
     * even if the path now names another.
     */
    private static CachedReads cachedReadsOn(long fileSystemType) {
        return switch ((int) fileSystemType) {
            case 0x01021994, 0x858458f6 -> CachedReads.ALWAYS; // tmpfs, ramfs
            case 0xef53, 0x58465342, 0x9123683e, 0xf2f52010 -> CachedReads.NO_WAIT; // ext2/3/4, xfs, btrfs, f2fs
            default -> CachedReads.NEVER;
        };
    }

    /**
     * A read that cannot wait for a disk: on tmpfs a plain read, on local disk file systems {@code
     * preadv2(RWF_NOWAIT)} (which tmpfs refuses), elsewhere never. Copies with a system call rather
     * than from a mapping of the file: a file truncated under a mapping faults on access, and in
     * compiled code the JVM reports that fault only later, at some other point of the thread, after
     * the copy went on with whatever the buffer held (wrong data, served). A short read (the file
     * shrank) or any error answers false; the blocking read then reports it.
     */
    @Override
    public boolean readIfCached(long offsetBytes, ByteBuffer dst) {
        int lengthBytes = dst.remaining();
        CachedReads mode = cachedReads;
        if (mode == CachedReads.NEVER
                || isClosed()
                || offsetBytes < 0
                || offsetBytes > sizeBytes - lengthBytes
                || (mode == CachedReads.NO_WAIT && !dst.isDirect())) {
            return false;
        }
        int base = dst.position();
        try {
            return mode == CachedReads.ALWAYS ? readFullyOrFalse(offsetBytes, dst) : readNoWait(offsetBytes, dst);
        } catch (IOException | RuntimeException e) {
            dst.position(base);
            return false;
        }
    }

    private boolean readNoWait(long offsetBytes, ByteBuffer dst) throws IOException {
        long n = withFd(fd -> LibC.preadNoWaitOrNegativeErrno(fd, offsetBytes, dst));
        if (n == -LibC.EOPNOTSUPP || n == -LibC.EINVAL) {
            cachedReads = CachedReads.NEVER; // a kernel or file system without RWF_NOWAIT
            return false;
        }
        if (n != dst.remaining()) {
            return false; // not all in memory, an error, or the file shrank
        }
        dst.position(dst.position() + (int) n);
        return true;
    }

    @Override
    public long sizeBytes() {
        return sizeBytes;
    }

    @Override
    public int logicalBlockSizeBytes() {
        return LOGICAL_BLOCK_BYTES;
    }

    /**
     * Punches a hole (zeroes in place on a device created preallocated); the range reads as zeroes
     * afterwards (stronger than the contract needs).
     */
    @Override
    public void discard(long offsetBytes, long lengthBytes) throws IOException {
        checkRange(offsetBytes, lengthBytes);
        ensureWritable("discard");
        punchOrWriteZeroes("discard", offsetBytes, lengthBytes);
    }

    @Override
    public void writeZeroes(long offsetBytes, long lengthBytes) throws IOException {
        checkRange(offsetBytes, lengthBytes);
        ensureWritable("write-zeroes");
        punchOrWriteZeroes("write-zeroes", offsetBytes, lengthBytes);
    }

    /**
     * Holes (hole=true, zero=true) and data (hole=false, zero=false) as the file system reports
     * them. File systems without hole tracking report everything as data, which is always safe.
     */
    @Override
    public List<Extent> allocation(long offsetBytes, long lengthBytes) throws IOException {
        checkRange(offsetBytes, lengthBytes);
        List<Extent> extents = new ArrayList<>();
        if (lengthBytes == 0) {
            return extents;
        }
        return withFd(fd -> {
            long positionBytes = offsetBytes;
            long endBytes = offsetBytes + lengthBytes;
            while (positionBytes < endBytes) {
                long dataBytes = LibC.lseekOrNegativeErrno(fd, positionBytes, LibC.SEEK_DATA);
                if (dataBytes == -LibC.ENXIO) {
                    // No data at or after the position: a hole up to the end of the file.
                    extents.add(new Extent(positionBytes, endBytes - positionBytes, true, true));
                    break;
                }
                if (dataBytes < 0) {
                    throw LibC.error("lseek(SEEK_DATA, " + positionBytes + ")", path(), (int) -dataBytes);
                }
                if (dataBytes > positionBytes) {
                    long holeEndBytes = Math.min(dataBytes, endBytes);
                    extents.add(new Extent(positionBytes, holeEndBytes - positionBytes, true, true));
                    positionBytes = holeEndBytes;
                    continue;
                }
                long holeBytes = LibC.lseekOrNegativeErrno(fd, positionBytes, LibC.SEEK_HOLE);
                if (holeBytes == -LibC.ENXIO) {
                    // The file shrank under us between the two seeks; the rest is past its end.
                    extents.add(new Extent(positionBytes, endBytes - positionBytes, true, true));
                    break;
                }
                if (holeBytes < 0) {
                    throw LibC.error("lseek(SEEK_HOLE, " + positionBytes + ")", path(), (int) -holeBytes);
                }
                long dataEndBytes = holeBytes <= positionBytes ? endBytes : Math.min(holeBytes, endBytes);
                extents.add(new Extent(positionBytes, dataEndBytes - positionBytes, false, false));
                positionBytes = dataEndBytes;
            }
            return extents;
        });
    }

    /** lseek(SEEK_HOLE): on tmpfs it walks the page cache to the hole, so it is asked once per run. */
    @Override
    public long nextHoleBytes(long offsetBytes) throws IOException {
        checkRange(offsetBytes, 0);
        return withFd(fd -> {
            long hole = LibC.lseekOrNegativeErrno(fd, offsetBytes, LibC.SEEK_HOLE);
            if (hole == -LibC.ENXIO) {
                return sizeBytes; // at or past the end of a file that shrank: nothing to read there
            }
            if (hole < 0) {
                throw LibC.error("lseek(SEEK_HOLE, " + offsetBytes + ")", path(), (int) -hole);
            }
            return Math.min(hole, sizeBytes);
        });
    }

    /** lseek(SEEK_END) on the libc descriptor: no struct, no lock on the file's size. */
    @Override
    long currentSizeBytes(int fd) throws IOException {
        long result = LibC.sizeOrNegativeErrno(fd);
        if (result < 0) {
            throw LibC.error("lseek(SEEK_END)", path(), (int) -result);
        }
        return result;
    }

    @Override
    boolean guardsSize() {
        return true;
    }

    private void punchOrWriteZeroes(String operation, long offsetBytes, long lengthBytes) throws IOException {
        if (lengthBytes == 0) {
            return;
        }
        if (keepAllocated) {
            zeroInPlace(operation, offsetBytes, lengthBytes);
            return;
        }
        if (!punchUnsupported) {
            // KEEP_SIZE never extends the file, but a punch into a truncated file is no more a success
            // than a write into one: same checks.
            refuseIfShrunk(operation, offsetBytes, lengthBytes);
            try {
                withFd(fd -> {
                    LibC.fallocate(
                            fd, path(), LibC.FALLOC_FL_PUNCH_HOLE | LibC.FALLOC_FL_KEEP_SIZE, offsetBytes, lengthBytes);
                    return null;
                });
                checkSizeAfterWrite(operation, offsetBytes, lengthBytes);
                return;
            } catch (LibC.ErrnoException e) {
                if (e.errno() != LibC.EOPNOTSUPP) {
                    throw failure(e, operation, offsetBytes, lengthBytes);
                }
                punchUnsupported = true;
            }
        }
        writeZeroesByWriting(offsetBytes, lengthBytes);
    }

    /** Zeroes keeping (or allocating) the blocks: FALLOC_FL_ZERO_RANGE, or zeroes written (tmpfs). */
    private void zeroInPlace(String operation, long offsetBytes, long lengthBytes) throws IOException {
        if (!zeroRangeUnsupported) {
            refuseIfShrunk(operation, offsetBytes, lengthBytes);
            try {
                withFd(fd -> {
                    LibC.fallocate(
                            fd, path(), LibC.FALLOC_FL_ZERO_RANGE | LibC.FALLOC_FL_KEEP_SIZE, offsetBytes, lengthBytes);
                    return null;
                });
                checkSizeAfterWrite(operation, offsetBytes, lengthBytes);
                return;
            } catch (LibC.ErrnoException e) {
                if (e.errno() != LibC.EOPNOTSUPP) {
                    throw failure(e, operation, offsetBytes, lengthBytes);
                }
                zeroRangeUnsupported = true;
            }
        }
        writeZeroesByWriting(offsetBytes, lengthBytes);
    }

    /** Allocates every block of a new image: fallocate mode 0, or zeroes written where unsupported. */
    private static void allocate(Path path, FileChannel channel, long sizeBytes) throws IOException {
        String what = "preallocating " + sizeBytes + " bytes for " + path;
        int fd = LibC.open(path, LibC.O_RDWR | LibC.O_CLOEXEC);
        try {
            LibC.fallocate(fd, path, 0, 0, sizeBytes);
            return;
        } catch (LibC.ErrnoException e) {
            if (e.errno() != LibC.EOPNOTSUPP) {
                throw DeviceErrors.classify(e, path.toString(), what);
            }
        } finally {
            LibC.close(fd, path);
        }
        ByteBuffer zeroes = ByteBuffer.allocateDirect(PREALLOCATE_CHUNK_BYTES);
        try {
            for (long positionBytes = 0; positionBytes < sizeBytes; ) {
                zeroes.clear().limit((int) Math.min(PREALLOCATE_CHUNK_BYTES, sizeBytes - positionBytes));
                while (zeroes.hasRemaining()) {
                    positionBytes += channel.write(zeroes, positionBytes);
                }
            }
        } catch (IOException e) {
            throw DeviceErrors.classify(e, path.toString(), what);
        }
    }

    private static void syncDirectory(Path directory) throws IOException {
        if (directory == null) {
            return;
        }
        try (FileChannel dir = FileChannel.open(directory, StandardOpenOption.READ)) {
            dir.force(true);
        }
    }
}
