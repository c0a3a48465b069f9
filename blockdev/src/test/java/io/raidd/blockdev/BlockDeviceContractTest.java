package io.raidd.blockdev;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;

/**
 * The {@link BlockDevice} contract, run against every implementation. Subclasses supply a fresh,
 * all-zero, writable device.
 *
 * <p>Randomised tests print their seed; rerun one with {@code -Dblockdev.seed=N}.
 */
abstract class BlockDeviceContractTest {
    /** Not a power of two and not a multiple of 64 KiB, so page and chunk edges get exercised. */
    static final long SIZE_BYTES = 3L * 1024 * 1024 + 3 * 4096 + 512;

    BlockDevice device;
    long seed;

    /** A new device of {@code sizeBytes} that reads as zeroes. */
    abstract BlockDevice newDevice(long sizeBytes) throws IOException;

    @BeforeEach
    void openDevice(TestInfo info) throws IOException {
        seed = Long.getLong("blockdev.seed", System.nanoTime());
        System.out.println(getClass().getSimpleName() + "." + info.getDisplayName() + " seed=" + seed);
        device = newDevice(SIZE_BYTES);
    }

    @AfterEach
    void closeDevice() throws IOException {
        device.close();
    }

    @Test
    void reportsSizeAndBlockSize() {
        assertEquals(SIZE_BYTES, device.sizeBytes());
        int block = device.logicalBlockSizeBytes();
        assertTrue(block == 512 || block == 4096, "logical block size " + block);
        assertFalse(device.isReadOnly());
    }

    @Test
    void randomPositionalIoMatchesModel() throws IOException {
        Random random = new Random(seed);
        byte[] model = new byte[(int) SIZE_BYTES];
        for (int op = 0; op < 600; op++) {
            int lengthBytes = randomLength(random);
            long offsetBytes = (long) (random.nextDouble() * (SIZE_BYTES - lengthBytes + 1));
            ByteBuffer buffer = randomBuffer(random, lengthBytes);
            int start = buffer.position();
            int choice = random.nextInt(10);
            if (choice < 5) {
                byte[] data = new byte[lengthBytes];
                random.nextBytes(data);
                buffer.put(data).position(start);
                if (choice == 0) {
                    device.writeDurable(offsetBytes, buffer);
                } else {
                    device.write(offsetBytes, buffer);
                }
                System.arraycopy(data, 0, model, (int) offsetBytes, lengthBytes);
                assertFalse(buffer.hasRemaining(), "write must consume the buffer");
            } else if (choice < 9) {
                // Every fourth read is first offered to readIfCached, which serves all or nothing.
                boolean cached = choice == 8 && device.readIfCached(offsetBytes, buffer);
                if (choice == 8 && !cached) {
                    assertEquals(start, buffer.position(), "a refused readIfCached leaves the position");
                }
                if (!cached) {
                    device.read(offsetBytes, buffer);
                }
                assertFalse(buffer.hasRemaining(), "read must fill the buffer");
                byte[] actual = new byte[lengthBytes];
                buffer.position(start).get(actual);
                assertArrayEquals(
                        Arrays.copyOfRange(model, (int) offsetBytes, (int) offsetBytes + lengthBytes),
                        actual,
                        "op " + op + ": read of " + lengthBytes + " at " + offsetBytes + " (seed " + seed + ")");
            } else {
                device.writeZeroes(offsetBytes, lengthBytes);
                Arrays.fill(model, (int) offsetBytes, (int) offsetBytes + lengthBytes, (byte) 0);
            }
        }
        device.flush();
        assertContent(model, 0);
    }

    @Test
    void rangesOutsideTheDeviceAreRejectedBeforeAnyIo() throws IOException {
        byte[] marker = filled(4096, (byte) 0x5a);
        device.write(SIZE_BYTES - 4096, ByteBuffer.wrap(marker));
        long[][] bad = {
            {-1, 10}, {SIZE_BYTES - 10, 20}, {SIZE_BYTES + 1, 0}, {0, SIZE_BYTES + 1}, {Long.MAX_VALUE, 1}, {5, -1}
        };
        for (long[] range : bad) {
            long offsetBytes = range[0];
            long lengthBytes = range[1];
            String what = "[" + offsetBytes + ", +" + lengthBytes + ")";
            if (lengthBytes >= 0 && lengthBytes <= 64) {
                ByteBuffer src = ByteBuffer.wrap(filled((int) lengthBytes, (byte) 1));
                assertThrows(IllegalArgumentException.class, () -> device.write(offsetBytes, src), what);
                assertEquals(0, src.position(), "write consumed bytes before the range check " + what);
                ByteBuffer dst = ByteBuffer.allocate((int) lengthBytes);
                assertThrows(IllegalArgumentException.class, () -> device.read(offsetBytes, dst), what);
                assertEquals(0, dst.position(), "read filled bytes before the range check " + what);
            }
            assertThrows(IllegalArgumentException.class, () -> device.discard(offsetBytes, lengthBytes), what);
            assertThrows(IllegalArgumentException.class, () -> device.writeZeroes(offsetBytes, lengthBytes), what);
            assertThrows(IllegalArgumentException.class, () -> device.allocation(offsetBytes, lengthBytes), what);
        }
        ByteBuffer tail = ByteBuffer.allocate(4096);
        device.read(SIZE_BYTES - 4096, tail);
        assertArrayEquals(marker, tail.array(), "a rejected request changed the device");
    }

    @Test
    void emptyRangesAreAccepted() throws IOException {
        device.write(SIZE_BYTES, ByteBuffer.allocate(0));
        device.read(0, ByteBuffer.allocate(0));
        device.writeZeroes(SIZE_BYTES, 0);
        device.discard(0, 0);
        assertTrue(device.allocation(SIZE_BYTES, 0).isEmpty());
    }

    @Test
    void writeZeroesReadsBackZeroesAndLeavesNeighboursAlone() throws IOException {
        Random random = new Random(seed);
        byte[] model = new byte[(int) SIZE_BYTES];
        random.nextBytes(model);
        device.write(0, ByteBuffer.wrap(model));
        long[][] ranges = {{1, 1}, {511, 2}, {4095, 8194}, {65536 - 3, 65536 + 7}, {1 << 20, 1 << 20}};
        for (long[] range : ranges) {
            device.writeZeroes(range[0], range[1]);
            Arrays.fill(model, (int) range[0], (int) (range[0] + range[1]), (byte) 0);
        }
        long lastBytes = SIZE_BYTES - 777;
        device.writeZeroes(lastBytes, 777);
        Arrays.fill(model, (int) lastBytes, (int) SIZE_BYTES, (byte) 0);
        assertContent(model, 0);
    }

    @Test
    void discardThenWriteThenReadReturnsTheNewData() throws IOException {
        Random random = new Random(seed);
        byte[] first = new byte[256 * 1024];
        random.nextBytes(first);
        device.write(8192, ByteBuffer.wrap(first));
        device.discard(8192 + 100, 200 * 1024);
        byte[] second = new byte[100 * 1024 + 3];
        random.nextBytes(second);
        device.write(8192 + 5000, ByteBuffer.wrap(second));
        ByteBuffer back = ByteBuffer.allocateDirect(second.length);
        device.read(8192 + 5000, back);
        byte[] actual = new byte[second.length];
        back.flip().get(actual);
        assertArrayEquals(second, actual);
        ByteBuffer untouched = ByteBuffer.allocate(100);
        device.read(8192, untouched);
        assertArrayEquals(Arrays.copyOf(first, 100), untouched.array(), "bytes before the discard changed");
    }

    @Test
    void allocationCoversTheRangeContiguously() throws IOException {
        Random random = new Random(seed);
        for (int i = 0; i < 20; i++) {
            int lengthBytes = 1 + random.nextInt(200_000);
            long offsetBytes = (long) (random.nextDouble() * (SIZE_BYTES - lengthBytes));
            byte[] data = new byte[lengthBytes];
            random.nextBytes(data);
            device.write(offsetBytes, ByteBuffer.wrap(data));
            if (random.nextBoolean()) {
                device.discard(offsetBytes + lengthBytes / 4, lengthBytes / 2);
            }
        }
        device.flush();
        checkAllocation(0, SIZE_BYTES);
        for (int i = 0; i < 20; i++) {
            long offsetBytes = (long) (random.nextDouble() * SIZE_BYTES);
            long lengthBytes = (long) (random.nextDouble() * (SIZE_BYTES - offsetBytes));
            checkAllocation(offsetBytes, lengthBytes);
        }
    }

    @Test
    void concurrentWritersOnDisjointRanges() throws Exception {
        int threads = 4;
        long sliceBytes = SIZE_BYTES / threads;
        byte[] model = new byte[(int) SIZE_BYTES];
        new Random(seed).nextBytes(model);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                long sliceStart = t * sliceBytes;
                long sliceEnd = t == threads - 1 ? SIZE_BYTES : sliceStart + sliceBytes;
                long threadSeed = seed + t;
                futures.add(pool.submit(() -> {
                    Random random = new Random(threadSeed);
                    long positionBytes = sliceStart;
                    while (positionBytes < sliceEnd) {
                        int chunkBytes = (int) Math.min(1 + random.nextInt(20_000), sliceEnd - positionBytes);
                        ByteBuffer src = random.nextBoolean()
                                ? ByteBuffer.allocateDirect(chunkBytes)
                                : ByteBuffer.allocate(chunkBytes);
                        src.put(model, (int) positionBytes, chunkBytes).flip();
                        device.write(positionBytes, src);
                        positionBytes += chunkBytes;
                    }
                    return null;
                }));
            }
            for (Future<?> future : futures) {
                future.get(60, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        assertContent(model, 0);
    }

    @Test
    void ioAfterCloseFails() throws IOException {
        device.write(0, ByteBuffer.wrap(new byte[] {1, 2, 3}));
        device.close();
        assertThrows(IOException.class, () -> device.read(0, ByteBuffer.allocate(3)));
        assertThrows(IOException.class, () -> device.write(0, ByteBuffer.allocate(3)));
        assertThrows(IOException.class, () -> device.flush());
        assertThrows(IOException.class, () -> device.discard(0, 4096));
        assertThrows(IOException.class, () -> device.writeZeroes(0, 4096));
        device.close(); // idempotent
    }

    // ------------------------------------------------------------------------------------ helpers

    /** Walks {@link BlockDevice#allocation} (which may stop early) and checks the extents tile the range. */
    void checkAllocation(long offsetBytes, long lengthBytes) throws IOException {
        long positionBytes = offsetBytes;
        long endBytes = offsetBytes + lengthBytes;
        while (positionBytes < endBytes) {
            List<Extent> extents = device.allocation(positionBytes, endBytes - positionBytes);
            assertFalse(extents.isEmpty(), "no extents for [" + positionBytes + ", " + endBytes + ")");
            for (Extent extent : extents) {
                assertEquals(positionBytes, extent.offsetBytes(), "gap or overlap in " + extents);
                assertTrue(extent.endBytes() <= endBytes, "extent past the range end: " + extents);
                if (extent.zero() && extent.lengthBytes() <= 1 << 20) {
                    ByteBuffer contents = ByteBuffer.allocate((int) extent.lengthBytes());
                    device.read(extent.offsetBytes(), contents);
                    assertTrue(isAllZero(contents.array()), "extent claims zeroes but is not: " + extent);
                }
                positionBytes = extent.endBytes();
            }
        }
        assertEquals(endBytes, positionBytes);
    }

    void assertContent(byte[] model, long offsetBytes) throws IOException {
        ByteBuffer actual = ByteBuffer.allocate(model.length);
        device.read(offsetBytes, actual);
        if (!Arrays.equals(model, actual.array())) {
            int mismatch = Arrays.mismatch(model, actual.array());
            throw new AssertionError(
                    "content differs first at byte " + (offsetBytes + mismatch) + " (seed " + seed + ")");
        }
    }

    static int randomLength(Random random) {
        switch (random.nextInt(4)) {
            case 0:
                return random.nextInt(16);
            case 1:
                return 1 + random.nextInt(4096);
            case 2:
                return 4096 * (1 + random.nextInt(16)) + (random.nextBoolean() ? 0 : random.nextInt(512));
            default:
                return random.nextInt(200_000);
        }
    }

    /** Heap or direct, with a random position so implementations must honour position and limit. */
    static ByteBuffer randomBuffer(Random random, int lengthBytes) {
        int slackBytes = random.nextInt(8);
        ByteBuffer buffer = random.nextBoolean()
                ? ByteBuffer.allocateDirect(lengthBytes + 2 * slackBytes)
                : ByteBuffer.allocate(lengthBytes + 2 * slackBytes);
        buffer.position(slackBytes).limit(slackBytes + lengthBytes);
        return buffer;
    }

    static byte[] filled(int lengthBytes, byte value) {
        byte[] bytes = new byte[lengthBytes];
        Arrays.fill(bytes, value);
        return bytes;
    }

    static boolean isAllZero(byte[] bytes) {
        for (byte b : bytes) {
            if (b != 0) {
                return false;
            }
        }
        return true;
    }
}
