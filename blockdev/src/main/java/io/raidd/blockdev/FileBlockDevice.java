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
 * A block device backed by a regular (image) file. Images are created sparse; {@link #discard} and
 * {@link #writeZeroes} punch holes ({@code fallocate(PUNCH_HOLE | KEEP_SIZE)}) so freed space goes
 * back to the file system, and {@link #allocation} reports holes via {@code SEEK_DATA}/{@code
 * SEEK_HOLE}. On file systems that cannot punch holes both fall back to writing zeroes.
 *
 * <p>The size is the file's size when opened; I/O is buffered through the page cache and made
 * durable by {@link #flush()} (fdatasync).
 */
public final class FileBlockDevice extends ChannelBlockDevice {
    private static final int LOGICAL_BLOCK_BYTES = 512;

    private final long sizeBytes;
    /** Set once the file system said EOPNOTSUPP, so later calls skip straight to the fallback. */
    private volatile boolean punchUnsupported;

    private final PageCacheReader cached;

    private FileBlockDevice(Path path, boolean readOnly, FileChannel channel, int fd, long sizeBytes) {
        super(path, readOnly, channel, fd);
        this.sizeBytes = sizeBytes;
        this.cached = new PageCacheReader(this::openForMapping, sizeBytes);
    }

    /**
     * Creates a sparse image of {@code sizeBytes} (a positive multiple of 512) and opens it
     * read-write. Fails if anything already exists at {@code path}. The new file and its directory
     * entry are made durable before this returns.
     */
    public static FileBlockDevice create(Path path, long sizeBytes) throws IOException {
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
                file.getChannel().force(true);
            }
            syncDirectory(path.toAbsolutePath().getParent());
            return open(path, false);
        } catch (IOException | RuntimeException e) {
            try {
                Files.deleteIfExists(path);
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    /** Opens an existing image file; its current size becomes the device size. */
    public static FileBlockDevice open(Path path, boolean readOnly) throws IOException {
        if (!Files.exists(path)) {
            throw new NoSuchFileException(path.toString(), null, "image file does not exist");
        }
        if (!Files.isRegularFile(path)) {
            throw new IOException("not a regular file: " + path + " (use BlockDevices.open for block devices)");
        }
        FileChannel channel = openChannel(path, readOnly);
        try {
            int fd = LibC.open(path, (readOnly ? LibC.O_RDONLY : LibC.O_RDWR) | LibC.O_CLOEXEC);
            return new FileBlockDevice(path, readOnly, channel, fd, channel.size());
        } catch (IOException | RuntimeException e) {
            try {
                channel.close();
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    /**
     * A read-only channel on this device's file, for mapping. The JDK extends a file that is shorter
     * than a region mapped through a writable channel, whatever the map mode; a read must never do
     * that to a file shrunk under us. Reopened through our own descriptor, so it is the same file
     * even if the path now names another.
     */
    private FileChannel openForMapping() throws IOException {
        return withFd(fd -> FileChannel.open(Path.of("/proc/self/fd/" + fd), StandardOpenOption.READ));
    }

    /** Views of the file's mapping when every page is resident ({@link PageCacheReader}). */
    @Override
    public boolean viewIfCached(long offsetBytes, int lengthBytes, List<ByteBuffer> out) {
        if (isClosed() || offsetBytes < 0 || lengthBytes < 0 || offsetBytes > sizeBytes - lengthBytes) {
            return false;
        }
        return cached.views(offsetBytes, lengthBytes, out);
    }

    @Override
    public long sizeBytes() {
        return sizeBytes;
    }

    @Override
    public int logicalBlockSizeBytes() {
        return LOGICAL_BLOCK_BYTES;
    }

    /** Punches a hole; the range reads as zeroes afterwards (stronger than the contract needs). */
    @Override
    public void discard(long offsetBytes, long lengthBytes) throws IOException {
        checkRange(offsetBytes, lengthBytes);
        ensureWritable("discard");
        punchOrWriteZeroes(offsetBytes, lengthBytes);
    }

    @Override
    public void writeZeroes(long offsetBytes, long lengthBytes) throws IOException {
        checkRange(offsetBytes, lengthBytes);
        ensureWritable("write-zeroes");
        punchOrWriteZeroes(offsetBytes, lengthBytes);
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

    private void punchOrWriteZeroes(long offsetBytes, long lengthBytes) throws IOException {
        if (lengthBytes == 0) {
            return;
        }
        if (!punchUnsupported) {
            try {
                withFd(fd -> {
                    LibC.fallocate(
                            fd, path(), LibC.FALLOC_FL_PUNCH_HOLE | LibC.FALLOC_FL_KEEP_SIZE, offsetBytes, lengthBytes);
                    return null;
                });
                return;
            } catch (LibC.ErrnoException e) {
                if (e.errno() != LibC.EOPNOTSUPP) {
                    throw e;
                }
                punchUnsupported = true;
            }
        }
        writeZeroesByWriting(offsetBytes, lengthBytes);
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
