package io.raidd.blockdev;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The contract on a real image file, plus what only image files do: sparseness and hole punching. */
class FileBlockDeviceIT extends BlockDeviceContractTest {
    private static final int MIB = 1024 * 1024;

    @TempDir
    Path dir;

    Path image;

    @Override
    BlockDevice newDevice(long sizeBytes) throws IOException {
        image = dir.resolve("member.img");
        return FileBlockDevice.create(image, sizeBytes);
    }

    @Test
    void createdImageIsSparseAndReportsOneHole() throws IOException {
        assertEquals(SIZE_BYTES, Files.size(image));
        assertEquals(0, allocatedBytes(image), "a new image must not allocate blocks");
        assertEquals(List.of(new Extent(0, SIZE_BYTES, true, true)), device.allocation(0, SIZE_BYTES));
    }

    @Test
    void readIfCachedServesResidentPagesOnlyAndNeverFaultsOnAShrunkFile() throws IOException {
        byte[] data = new byte[3 * 4096];
        new Random(seed).nextBytes(data);
        device.write(2 * MIB - 4096, ByteBuffer.wrap(data));
        ByteBuffer dst = ByteBuffer.allocateDirect(data.length + 100).position(100);
        assertTrue(device.readIfCached(2 * MIB - 4096, dst), "just-written pages are in the page cache");
        assertFalse(dst.hasRemaining());
        byte[] back = new byte[data.length];
        dst.position(100).get(back);
        assertArrayEquals(data, back);

        // A hole never written nor read has no page in memory: left to the blocking read.
        ByteBuffer hole = ByteBuffer.allocate(4096);
        assertFalse(device.readIfCached(SIZE_BYTES - 4096, hole));
        assertEquals(0, hole.position());
        assertFalse(device.readIfCached(SIZE_BYTES - 4096, ByteBuffer.allocate(8192)), "past the end");

        // Shrunk: the read comes up short, so the answer is "not cached"; the blocking read reports it.
        try (RandomAccessFile file = new RandomAccessFile(image.toFile(), "rw")) {
            file.setLength(MIB);
        }
        assertFalse(device.readIfCached(2 * MIB - 4096, ByteBuffer.allocate(data.length)));
        assertThrows(DeviceGoneException.class, () -> device.read(2 * MIB - 4096, ByteBuffer.allocate(4096)));

        device.close();
        assertFalse(device.readIfCached(0, ByteBuffer.allocate(512)), "closed");
    }

    @Test
    void aCachedReadOfAFileShrunkBeforeItWasMappedLeavesTheFileAsItIs() throws IOException {
        device.write(0, ByteBuffer.wrap(filled(8192, (byte) 3)));
        try (RandomAccessFile file = new RandomAccessFile(image.toFile(), "rw")) {
            file.setLength(4096);
        }
        // The first cached read maps the file; mapping it writable would have grown it back.
        assertFalse(device.readIfCached(0, ByteBuffer.allocate(8192)));
        assertEquals(4096, Files.size(image), "a read must not extend the file");
        assertThrows(DeviceGoneException.class, () -> device.read(0, ByteBuffer.allocate(8192)));
    }

    @Test
    void allocationFindsWrittenDataBetweenHoles() throws IOException {
        device.write(MIB, ByteBuffer.wrap(filled(4096, (byte) 7)));
        device.flush();
        List<Extent> extents = device.allocation(0, SIZE_BYTES);
        assertEquals(3, extents.size(), extents.toString());
        assertEquals(new Extent(0, MIB, true, true), extents.get(0));
        assertEquals(new Extent(MIB, 4096, false, false), extents.get(1));
        assertEquals(new Extent(MIB + 4096, SIZE_BYTES - MIB - 4096, true, true), extents.get(2));
        assertEquals(List.of(new Extent(MIB + 100, 50, false, false)), device.allocation(MIB + 100, 50));
    }

    @Test
    void discardAndWriteZeroesReallyDeallocate() throws IOException {
        byte[] data = new byte[2 * MIB];
        new Random(seed).nextBytes(data);
        device.write(0, ByteBuffer.wrap(data));
        device.flush();
        long writtenBytes = allocatedBytes(image);
        assertTrue(writtenBytes >= 2 * MIB, "expected 2 MiB allocated, stat says " + writtenBytes);

        device.discard(0, MIB);
        long afterDiscardBytes = allocatedBytes(image);
        assertTrue(afterDiscardBytes <= writtenBytes - MIB, "discard freed too little: " + afterDiscardBytes);

        device.writeZeroes(MIB, MIB);
        assertEquals(0, allocatedBytes(image), "write-zeroes over the rest must free everything");
        assertEquals(List.of(new Extent(0, SIZE_BYTES, true, true)), device.allocation(0, SIZE_BYTES));
        assertEquals(SIZE_BYTES, Files.size(image), "punching must keep the file size");
    }

    @Test
    void shortReadNamesTheFileTheChangeAndTheOffset() throws IOException {
        try (RandomAccessFile file = new RandomAccessFile(image.toFile(), "rw")) {
            file.setLength(4096);
        }
        DeviceGoneException e =
                assertThrows(DeviceGoneException.class, () -> device.read(0, ByteBuffer.allocate(8192)));
        assertTrue(
                e.getMessage().startsWith(image + " shrank from " + SIZE_BYTES + " to 4096 bytes under raidd"),
                e.getMessage());
        assertTrue(e.getMessage().contains("offset 4096"), e.getMessage());
    }

    @Test
    void readOnlyRefusesWritesButReads() throws IOException {
        device.write(0, ByteBuffer.wrap("hello".getBytes(StandardCharsets.US_ASCII)));
        device.close();
        try (FileBlockDevice readOnly = FileBlockDevice.open(image, true)) {
            assertTrue(readOnly.isReadOnly());
            ByteBuffer back = ByteBuffer.allocate(5);
            readOnly.read(0, back);
            assertEquals("hello", new String(back.array(), StandardCharsets.US_ASCII));
            IOException write = assertThrows(IOException.class, () -> readOnly.write(0, ByteBuffer.allocate(1)));
            assertTrue(write.getMessage().contains("read-only"), write.getMessage());
            assertThrows(IOException.class, () -> readOnly.discard(0, 4096));
            assertThrows(IOException.class, () -> readOnly.writeZeroes(0, 4096));
            assertThrows(IOException.class, () -> readOnly.writeDurable(0, ByteBuffer.allocate(1)));
            assertEquals(1, readOnly.allocation(0, 4096).size());
        }
    }

    @Test
    void createRefusesAnExistingPathAndBadSizes() throws IOException {
        FileAlreadyExistsException e =
                assertThrows(FileAlreadyExistsException.class, () -> FileBlockDevice.create(image, 4096));
        assertTrue(e.getMessage().contains(image.toString()), e.getMessage());
        assertEquals(SIZE_BYTES, Files.size(image), "a refused create must not touch the existing image");
        assertThrows(IllegalArgumentException.class, () -> FileBlockDevice.create(dir.resolve("odd.img"), 1000));
        assertFalse(Files.exists(dir.resolve("odd.img")));
        assertThrows(NoSuchFileException.class, () -> FileBlockDevice.open(dir.resolve("missing.img"), false));
        IOException notFile = assertThrows(IOException.class, () -> FileBlockDevice.open(dir, false));
        assertTrue(notFile.getMessage().contains("not a regular file"), notFile.getMessage());
    }

    @Test
    void reopenedImageKeepsItsSizeAndData() throws IOException {
        byte[] data = filled(10_000, (byte) 0x33);
        device.writeDurable(12_345, ByteBuffer.wrap(data));
        device.close();
        try (BlockDevice reopened = FileBlockDevice.open(image, false)) {
            assertEquals(SIZE_BYTES, reopened.sizeBytes());
            ByteBuffer back = ByteBuffer.allocate(data.length);
            reopened.read(12_345, back);
            assertArrayEquals(data, back.array());
        }
    }

    /** The JDK closes a FileChannel when a thread in it is interrupted; the device must survive that. */
    @Test
    void interruptedCallFailsButTheDeviceStaysUsable() throws Exception {
        byte[] data = filled(4096, (byte) 9);
        device.write(0, ByteBuffer.wrap(data));
        CompletableFuture<Throwable> interrupted = new CompletableFuture<>();
        Thread thread = new Thread(() -> {
            Thread.currentThread().interrupt();
            try {
                device.read(0, ByteBuffer.allocate(4096));
                interrupted.complete(null);
            } catch (Throwable t) {
                interrupted.complete(t);
            }
        });
        thread.start();
        assertInstanceOf(InterruptedIOException.class, interrupted.get(30, TimeUnit.SECONDS));
        thread.join(TimeUnit.SECONDS.toMillis(30));

        ByteBuffer back = ByteBuffer.allocate(4096);
        device.read(0, back);
        assertArrayEquals(data, back.array());
        device.write(4096, ByteBuffer.wrap(data));
        device.flush();
    }

    // ------------------------------------------------------------------ a file changed under raidd

    @Test
    void readsPastATruncatedEndAreDeviceGone() throws IOException {
        try (Tmpfs fs = Tmpfs.mount(dir.resolve("tmpfs"), 16 * MIB);
                FileBlockDevice d3 = FileBlockDevice.create(fs.resolve("d3.img"), 4 * MIB)) {
            byte[] data = new byte[4 * MIB];
            new Random(seed).nextBytes(data);
            d3.write(0, ByteBuffer.wrap(data));

            truncate(d3.path(), 2 * MIB);
            ByteBuffer head = ByteBuffer.allocate(4096);
            d3.read(0, head);
            assertArrayEquals(Arrays.copyOf(data, 4096), head.array(), "bytes before the new end still read");
            DeviceGoneException straddling =
                    assertThrows(DeviceGoneException.class, () -> d3.read(2 * MIB - 4096, ByteBuffer.allocate(8192)));
            assertTrue(
                    straddling.getMessage().startsWith(d3.path() + " shrank from 4194304 to 2097152 bytes under raidd"),
                    straddling.getMessage());
            assertThrows(DeviceGoneException.class, () -> d3.read(3 * MIB, ByteBuffer.allocate(4096)));
            assertFalse(d3.readIfCached(3 * MIB, ByteBuffer.allocate(4096)));

            truncate(d3.path(), 0);
            DeviceGoneException empty =
                    assertThrows(DeviceGoneException.class, () -> d3.read(0, ByteBuffer.allocate(512)));
            assertTrue(
                    empty.getMessage().startsWith(d3.path() + " shrank from 4194304 to 0 bytes under raidd"),
                    empty.getMessage());
            assertFalse(d3.readIfCached(0, ByteBuffer.allocateDirect(512)), "nothing past the end");
            assertEquals(0, Files.size(d3.path()), "reads must not extend the file");
        }
    }

    @Test
    void writesNeverExtendAFileThatShrank() throws IOException {
        try (Tmpfs fs = Tmpfs.mount(dir.resolve("tmpfs"), 16 * MIB)) {
            for (long newSizeBytes : new long[] {2 * MIB, 0}) {
                try (FileBlockDevice d = FileBlockDevice.create(fs.resolve("w" + newSizeBytes + ".img"), 4 * MIB)) {
                    d.write(0, ByteBuffer.wrap(filled(4 * MIB, (byte) 1)));
                    truncate(d.path(), newSizeBytes);

                    List<IoCall> writes = List.of(
                            () -> d.write(3 * MIB, ByteBuffer.wrap(filled(4096, (byte) 2))),
                            () -> d.write(0, ByteBuffer.wrap(filled(4096, (byte) 2))),
                            () -> d.writeDurable(4 * MIB - 512, ByteBuffer.wrap(filled(512, (byte) 2))),
                            () -> d.writeGathered(
                                    2 * MIB - 4096,
                                    List.of(ByteBuffer.wrap(filled(4096, (byte) 2)), ByteBuffer.wrap(filled(4096, (byte)
                                            2)))),
                            () -> d.writeZeroes(3 * MIB, 4096),
                            () -> d.discard(0, MIB));
                    for (IoCall write : writes) {
                        DeviceGoneException e = assertThrows(DeviceGoneException.class, write::run);
                        assertTrue(
                                e.getMessage().contains("shrank from 4194304 to " + newSizeBytes + " bytes"),
                                e.getMessage());
                        assertTrue(e.getMessage().contains("refused, nothing written"), e.getMessage());
                        assertEquals(newSizeBytes, Files.size(d.path()), "a write extended a truncated file");
                    }
                    if (newSizeBytes > 0) {
                        ByteBuffer kept = ByteBuffer.allocate((int) newSizeBytes);
                        d.read(0, kept);
                        assertArrayEquals(filled((int) newSizeBytes, (byte) 1), kept.array(), "nothing was written");
                    }
                    DeviceGoneException identity = assertThrows(DeviceGoneException.class, d::checkIdentity);
                    assertTrue(identity.getMessage().contains("shrank"), identity.getMessage());
                }
            }
        }
    }

    /**
     * The check after a long write: the size differs from the size at open, so the write is not
     * trusted. (A grown file is not refused beforehand, as extension cannot damage it; short writes
     * skip the check after, and the watchdog's checkIdentity reports the growth.)
     */
    @Test
    void aLongWriteIntoAFileThatChangedSizeIsReportedAfterwards() throws IOException {
        try (Tmpfs fs = Tmpfs.mount(dir.resolve("tmpfs"), 16 * MIB);
                FileBlockDevice d = FileBlockDevice.create(fs.resolve("grown.img"), MIB)) {
            truncate(d.path(), 2 * MIB);
            d.write(0, ByteBuffer.wrap(filled(4096, (byte) 1)));
            assertThrows(DeviceGoneException.class, d::checkIdentity);
            int longBytes = ChannelBlockDevice.AFTER_CHECK_MIN_BYTES;
            DeviceGoneException e = assertThrows(
                    DeviceGoneException.class, () -> d.write(0, ByteBuffer.wrap(filled(longBytes, (byte) 1))));
            assertTrue(
                    e.getMessage().startsWith(d.path() + " grew from 1048576 to 2097152 bytes under raidd"),
                    e.getMessage());
            assertTrue(e.getMessage().contains("may have landed in a truncated file"), e.getMessage());
        }
    }

    @Test
    void checkIdentityNoticesTruncationDeletionReplacementAndRenameOver() throws IOException {
        try (Tmpfs fs = Tmpfs.mount(dir.resolve("tmpfs"), 16 * MIB)) {
            Path truncated = fs.resolve("truncated.img");
            try (FileBlockDevice d = FileBlockDevice.create(truncated, MIB)) {
                d.checkIdentity();
                truncate(truncated, MIB / 2);
                DeviceGoneException e = assertThrows(DeviceGoneException.class, d::checkIdentity);
                assertEquals(truncated + " shrank from 1048576 to 524288 bytes under raidd", e.getMessage());
            }

            Path deleted = fs.resolve("deleted.img");
            try (FileBlockDevice d = FileBlockDevice.create(deleted, MIB)) {
                Files.delete(deleted);
                DeviceGoneException gone = assertThrows(DeviceGoneException.class, d::checkIdentity);
                assertTrue(gone.getMessage().contains("no longer exists"), gone.getMessage());

                // Recreated with the same size: only the inode tells it apart.
                FileBlockDevice.create(deleted, MIB).close();
                DeviceGoneException other = assertThrows(DeviceGoneException.class, d::checkIdentity);
                assertTrue(
                        other.getMessage().startsWith(deleted + " now names another file (inode "), other.getMessage());
            }

            Path renamedOver = fs.resolve("renamed-over.img");
            try (FileBlockDevice d = FileBlockDevice.create(renamedOver, MIB)) {
                Path replacement = fs.resolve("replacement.img");
                FileBlockDevice.create(replacement, MIB).close();
                Files.move(
                        replacement, renamedOver, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                DeviceGoneException e = assertThrows(DeviceGoneException.class, d::checkIdentity);
                assertTrue(e.getMessage().contains("now names another file"), e.getMessage());
            }

            Path symlinked = fs.resolve("target.img");
            try (FileBlockDevice d = FileBlockDevice.create(symlinked, MIB)) {
                Path link = fs.resolve("link.img");
                Files.createSymbolicLink(link, symlinked);
                try (FileBlockDevice viaLink = FileBlockDevice.open(link, true)) {
                    viaLink.checkIdentity();
                }
                d.checkIdentity();
            }
        }
    }

    @Test
    void aFullFileSystemIsNoSpaceNotADeadDevice() throws IOException {
        try (Tmpfs fs = Tmpfs.mount(dir.resolve("tmpfs"), 4 * MIB);
                FileBlockDevice sparse = FileBlockDevice.create(fs.resolve("sparse.img"), 8 * MIB)) {
            sparse.write(0, ByteBuffer.wrap(filled(MIB, (byte) 5)));
            Path filler = fs.resolve("filler");
            fillToTheBrim(filler);

            NoSpaceException e = assertThrows(
                    NoSpaceException.class, () -> sparse.write(4 * MIB, ByteBuffer.wrap(filled(4096, (byte) 6))));
            assertTrue(e.getMessage().startsWith("No space left on device"), e.getMessage());
            assertTrue(e.getMessage().contains(sparse.path().toString()), e.getMessage());
            assertEquals(8 * MIB, Files.size(sparse.path()));

            // Already allocated bytes need no space: the device itself is fine.
            sparse.write(4096, ByteBuffer.wrap(filled(4096, (byte) 7)));
            sparse.flush();
            sparse.checkIdentity();

            Files.delete(filler);
            sparse.write(4 * MIB, ByteBuffer.wrap(filled(4096, (byte) 6)));
            ByteBuffer back = ByteBuffer.allocate(4096);
            sparse.read(4 * MIB, back);
            assertArrayEquals(filled(4096, (byte) 6), back.array());
        }
    }

    /**
     * An interrupt closes the channel; the device reopens it through its own descriptor, so it keeps
     * reading and writing the file it opened even after that file was renamed away and another file
     * took its path.
     */
    @Test
    void aChannelClosedByInterruptReopensTheSameFileNotThePath() throws IOException {
        try (Tmpfs fs = Tmpfs.mount(dir.resolve("tmpfs"), 16 * MIB);
                FileBlockDevice d = FileBlockDevice.create(fs.resolve("m.img"), MIB)) {
            byte[] ours = filled(4096, (byte) 1);
            d.write(0, ByteBuffer.wrap(ours));
            Path moved = fs.resolve("moved.img");
            Files.move(d.path(), moved);
            try (FileBlockDevice impostor = FileBlockDevice.create(d.path(), MIB)) {
                impostor.write(0, ByteBuffer.wrap(filled(4096, (byte) 2)));
            }

            Thread.currentThread().interrupt();
            try {
                assertThrows(InterruptedIOException.class, () -> d.read(0, ByteBuffer.allocate(4096)));
            } finally {
                Thread.interrupted();
            }

            ByteBuffer back = ByteBuffer.allocate(4096);
            d.read(0, back);
            assertArrayEquals(ours, back.array(), "the reopened channel reads another file");
            d.write(4096, ByteBuffer.wrap(filled(4096, (byte) 3)));
            d.flush();
            assertArrayEquals(filled(4096, (byte) 3), Arrays.copyOfRange(Files.readAllBytes(moved), 4096, 8192));
            assertArrayEquals(new byte[4096], Arrays.copyOfRange(Files.readAllBytes(d.path()), 4096, 8192));
            DeviceGoneException e = assertThrows(DeviceGoneException.class, d::checkIdentity);
            assertTrue(e.getMessage().contains("now names another file"), e.getMessage());
        }
    }

    @Test
    void preallocatedImagesAreFullyAllocatedAndRefusedWhenTheyDoNotFit() throws IOException {
        try (Tmpfs fs = Tmpfs.mount(dir.resolve("tmpfs"), 4 * MIB)) {
            Path full = fs.resolve("full.img");
            try (FileBlockDevice d = FileBlockDevice.create(full, 2 * MIB, true)) {
                assertEquals(2 * MIB, d.sizeBytes());
                assertTrue(FileBlockDevice.allocatedBytes(full) >= 2 * MIB, "allocated " + allocatedBytes(full));
                assertEquals(allocatedBytes(full), FileBlockDevice.allocatedBytes(full), "st_blocks as stat(1) says");
                ByteBuffer back = ByteBuffer.allocate(4096);
                d.read(2 * MIB - 4096, back);
                assertArrayEquals(new byte[4096], back.array());
            }
            Path sparse = fs.resolve("sparse.img");
            FileBlockDevice.create(sparse, 2 * MIB, false).close();
            assertEquals(0, FileBlockDevice.allocatedBytes(sparse));

            // Zeroing a device created preallocated keeps its blocks: a hole would need space again.
            Path kept = fs.resolve("kept.img");
            try (FileBlockDevice d = FileBlockDevice.create(kept, MIB / 2, true)) {
                d.write(0, ByteBuffer.wrap(filled(MIB / 2, (byte) 9)));
                d.writeZeroes(4096, 8192);
                d.discard(65536, 65536);
                assertTrue(FileBlockDevice.allocatedBytes(kept) >= MIB / 2, "punched: " + allocatedBytes(kept));
                byte[] expected = filled(MIB / 2, (byte) 9);
                Arrays.fill(expected, 4096, 4096 + 8192, (byte) 0);
                Arrays.fill(expected, 65536, 2 * 65536, (byte) 0);
                ByteBuffer back = ByteBuffer.allocate(MIB / 2);
                d.read(0, back);
                assertArrayEquals(expected, back.array());
            }
            // Opened again, a fully allocated image stays so: zeroing keeps its blocks...
            try (FileBlockDevice d = FileBlockDevice.open(kept, false)) {
                d.writeZeroes(0, MIB / 2);
                assertTrue(FileBlockDevice.allocatedBytes(kept) >= MIB / 2, "punched: " + allocatedBytes(kept));
            }
            // ...while a sparse one punches as ever.
            try (FileBlockDevice d = FileBlockDevice.open(sparse, false)) {
                d.write(0, ByteBuffer.wrap(filled(65536, (byte) 3)));
                d.writeZeroes(0, 65536);
                assertEquals(0, FileBlockDevice.allocatedBytes(sparse));
            }
            assertEquals(0, FileBlockDevice.allocatedBytes(sparse));

            Path tooBig = fs.resolve("too-big.img");
            NoSpaceException e =
                    assertThrows(NoSpaceException.class, () -> FileBlockDevice.create(tooBig, 4 * MIB, true));
            assertTrue(e.getMessage().startsWith("No space left on device: preallocating"), e.getMessage());
            assertFalse(Files.exists(tooBig), "a failed create leaves nothing behind");
        }
    }

    /** Where the temporary directory's file system has FALLOC_FL_ZERO_RANGE (ext4, xfs), it is used. */
    @Test
    void aPreallocatedImageStaysAllocatedWhenZeroedOnThisFileSystem() throws IOException {
        Path kept = dir.resolve("kept.img");
        try (FileBlockDevice d = FileBlockDevice.create(kept, 2 * MIB, true)) {
            d.write(0, ByteBuffer.wrap(filled(2 * MIB, (byte) 4)));
            d.flush();
            long allocated = FileBlockDevice.allocatedBytes(kept);
            assertTrue(allocated >= 2 * MIB, "allocated " + allocated);
            d.writeZeroes(MIB, MIB);
            d.discard(0, 4096);
            d.flush();
            assertEquals(allocated, FileBlockDevice.allocatedBytes(kept));
            byte[] expected = filled(2 * MIB, (byte) 4);
            Arrays.fill(expected, MIB, 2 * MIB, (byte) 0);
            Arrays.fill(expected, 0, 4096, (byte) 0);
            ByteBuffer back = ByteBuffer.allocate(2 * MIB);
            d.read(0, back);
            assertArrayEquals(expected, back.array());
        }
    }

    private interface IoCall {
        void run() throws IOException;
    }

    private static void truncate(Path file, long sizeBytes) throws IOException {
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.setLength(sizeBytes);
        }
    }

    /** Writes a page at a time until the file system says it is full. */
    private static void fillToTheBrim(Path filler) throws IOException {
        ByteBuffer page = ByteBuffer.allocateDirect(4096);
        try (FileChannel channel = FileChannel.open(filler, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            for (long positionBytes = 0; ; positionBytes += 4096) {
                page.clear();
                try {
                    channel.write(page, positionBytes);
                } catch (IOException e) {
                    assertEquals("No space left on device", e.getMessage());
                    return;
                }
            }
        }
    }

    /** Bytes the file system has allocated for the file, from {@code stat -c %b} (512-byte units). */
    static long allocatedBytes(Path file) throws IOException {
        Process process = new ProcessBuilder("stat", "-c", "%b", file.toString())
                .redirectErrorStream(true)
                .start();
        String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim();
        try {
            if (!process.waitFor(30, TimeUnit.SECONDS) || process.exitValue() != 0) {
                throw new AssertionError("stat -c %b " + file + " failed: " + out);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
        return Long.parseLong(out) * 512;
    }
}
