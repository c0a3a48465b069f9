package io.raidd.blockdev;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.EOFException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
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

        // Views are the page cache itself: they show what is there when they are read.
        List<ByteBuffer> views = new ArrayList<>();
        assertTrue(device.viewIfCached(2 * MIB - 4096, data.length, views));
        assertEquals(data.length, views.stream().mapToInt(ByteBuffer::remaining).sum());
        assertEquals(data[0], views.get(0).get(0));
        device.write(2 * MIB - 4096, ByteBuffer.wrap(new byte[] {(byte) ~data[0]}));
        assertEquals((byte) ~data[0], views.get(0).get(0), "a later write shows through a view");
        device.write(2 * MIB - 4096, ByteBuffer.wrap(data, 0, 1));

        // A hole never written nor read has no page in memory: left to the blocking read.
        ByteBuffer hole = ByteBuffer.allocate(4096);
        assertFalse(device.readIfCached(SIZE_BYTES - 4096, hole));
        assertEquals(0, hole.position());
        assertFalse(device.readIfCached(SIZE_BYTES - 4096, ByteBuffer.allocate(8192)), "past the end");

        // Shrunk under the mapping: the pages are gone, so the answer is "not cached", not a crash.
        try (RandomAccessFile file = new RandomAccessFile(image.toFile(), "rw")) {
            file.setLength(MIB);
        }
        assertFalse(device.readIfCached(2 * MIB - 4096, ByteBuffer.allocate(data.length)));
        assertFalse(device.viewIfCached(2 * MIB - 4096, data.length, new ArrayList<>()));
        assertThrows(EOFException.class, () -> device.read(2 * MIB - 4096, ByteBuffer.allocate(4096)));

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
        assertThrows(EOFException.class, () -> device.read(0, ByteBuffer.allocate(8192)));
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
    void shortReadNamesTheFileAndOffset() throws IOException {
        try (RandomAccessFile file = new RandomAccessFile(image.toFile(), "rw")) {
            file.setLength(4096);
        }
        EOFException e = assertThrows(EOFException.class, () -> device.read(0, ByteBuffer.allocate(8192)));
        assertTrue(e.getMessage().contains(image.toString()), e.getMessage());
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
