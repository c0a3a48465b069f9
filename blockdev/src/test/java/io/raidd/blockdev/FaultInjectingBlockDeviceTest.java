package io.raidd.blockdev;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class FaultInjectingBlockDeviceTest {
    private static final long SIZE_BYTES = 1 << 20;
    private static final long TIMEOUT_NS = TimeUnit.SECONDS.toNanos(30);

    private MemoryBlockDevice memory;
    private FaultInjectingBlockDevice device;
    private ExecutorService executor;

    @BeforeEach
    void setUp() {
        memory = new MemoryBlockDevice(SIZE_BYTES);
        device = new FaultInjectingBlockDevice(memory);
        executor = Executors.newCachedThreadPool();
    }

    @AfterEach
    void tearDown() throws IOException {
        device.close();
        executor.shutdownNow();
    }

    @Test
    void failStopFailsEveryOperation() throws IOException {
        write(0, bytes(512, 1));
        device.failStop();
        assertInjected("fail-stop", () -> device.read(0, ByteBuffer.allocate(1)));
        assertInjected("fail-stop", () -> device.write(0, ByteBuffer.allocate(1)));
        assertInjected("fail-stop", device::flush);
        assertInjected("fail-stop", () -> device.discard(0, 512));
        assertInjected("fail-stop", () -> device.writeZeroes(0, 512));
        assertInjected("fail-stop", () -> device.allocation(0, 512));
        assertEquals(6, device.failures());
        assertArrayEquals(bytes(512, 1), readInner(0, 512), "a failed write reached the device");
    }

    @Test
    void noSpaceFailsWritesTouchingTheRangeUntilCleared() throws IOException {
        write(0, bytes(8192, 1));
        device.failWithNoSpace(4096, 4096);
        NoSpaceException e = assertThrows(NoSpaceException.class, () -> write(4000, bytes(200, 2)));
        assertTrue(e.getMessage().startsWith("No space left on device"), e.getMessage());
        assertThrows(NoSpaceException.class, () -> device.writeZeroes(8191, 1));
        assertArrayEquals(bytes(8192, 1), read(0, 8192), "reads are untouched, and no failed write landed");
        write(0, bytes(4096, 4));
        write(8192, bytes(4096, 4));
        assertEquals(2, device.failures());

        // A write over the range does not clear it (unlike a remapped read error): space is still short.
        assertThrows(NoSpaceException.class, () -> write(0, bytes(16384, 5)));
        device.clearErrors();
        write(4096, bytes(4096, 6));
        assertArrayEquals(bytes(4096, 6), readInner(4096, 4096));
    }

    @Test
    void aDisappearedDeviceIsGoneForEveryCallAndStaysGone() throws IOException {
        write(0, bytes(512, 1));
        device.checkIdentity();
        device.disappear();
        assertThrows(DeviceGoneException.class, () -> device.read(0, ByteBuffer.allocate(1)));
        assertThrows(DeviceGoneException.class, () -> device.write(0, ByteBuffer.allocate(1)));
        assertThrows(DeviceGoneException.class, device::flush);
        assertThrows(DeviceGoneException.class, () -> device.discard(0, 512));
        assertThrows(DeviceGoneException.class, () -> device.writeZeroes(0, 512));
        assertThrows(DeviceGoneException.class, () -> device.allocation(0, 512));
        assertThrows(DeviceGoneException.class, device::checkIdentity);
        assertFalse(device.readIfCached(0, ByteBuffer.allocate(512)), "no view bypasses the fault");
        assertEquals(6, device.failures());
        device.clearErrors();
        assertThrows(DeviceGoneException.class, () -> device.read(0, ByteBuffer.allocate(1)));
        assertThrows(DeviceGoneException.class, device::checkIdentity);
        assertArrayEquals(bytes(512, 1), readInner(0, 512), "a write reached a gone device");
    }

    @Test
    void failStopAfterLetsExactlyNOperationsThrough() throws IOException {
        device.failStopAfter(3);
        write(0, bytes(10, 1));
        device.read(0, ByteBuffer.allocate(10));
        device.flush();
        assertInjected("fail-stop", () -> device.read(0, ByteBuffer.allocate(10)));
        assertInjected("fail-stop", () -> device.flush());
        assertEquals(1, device.reads());
        assertEquals(1, device.writes());
        assertEquals(1, device.flushes());
        assertEquals(2, device.failures());
    }

    @Test
    void failStopAfterZeroFailsTheNextOperation() {
        device.failStopAfter(0);
        assertInjected("fail-stop", () -> device.read(0, ByteBuffer.allocate(1)));
    }

    @Test
    void readErrorRangeFailsOverlappingReadsUntilACoveringWrite() throws IOException {
        device.failReads(4096, 1024);
        assertInjected("EIO", () -> device.read(4096 + 1023, ByteBuffer.allocate(1)));
        assertInjected("EIO", () -> device.read(0, ByteBuffer.allocate(8192)));
        device.read(4096 - 10, ByteBuffer.allocate(10)); // ends right before the range
        device.read(4096 + 1024, ByteBuffer.allocate(10)); // starts right after it

        write(4096, bytes(512, 2)); // writes are allowed but only half the range is rewritten
        assertInjected("EIO", () -> device.read(4096, ByteBuffer.allocate(1)));

        write(4000, bytes(2000, 3)); // covers the whole range: remapped
        assertArrayEquals(bytes(1024, 3), read(4096, 1024));
        assertEquals(3, device.failures());
    }

    @Test
    void writeZeroesAlsoRemapsAReadErrorRange() throws IOException {
        device.failReads(0, 512);
        device.writeZeroes(0, 4096);
        assertArrayEquals(new byte[512], read(0, 512));
    }

    @Test
    void writeErrorRangeFailsWritesOnlyUntilCleared() throws IOException {
        write(8192, bytes(100, 4));
        device.failWrites(8192, 100);
        assertInjected("EIO", () -> device.write(8100, ByteBuffer.allocate(93)));
        assertInjected("EIO", () -> device.writeZeroes(8291, 1));
        assertInjected("EIO", () -> device.discard(0, SIZE_BYTES));
        assertArrayEquals(bytes(100, 4), read(8192, 100), "reads of a write-error range still work");
        write(8100, bytes(92, 5)); // adjacent, not overlapping
        assertArrayEquals(bytes(100, 4), readInner(8192, 100), "a failed write reached the device");
        device.clearErrors();
        write(8192, bytes(100, 6));
        assertArrayEquals(bytes(100, 6), read(8192, 100));
    }

    @Test
    void corruptFlipsOneBitInEveryStoredByteDeterministically() throws IOException {
        byte[] original = new byte[4096];
        new Random(1).nextBytes(original);
        write(0, original);
        device.corrupt(100, 1000, 77);
        byte[] stored = readInner(0, 4096);
        for (int i = 0; i < 4096; i++) {
            int diff = (original[i] ^ stored[i]) & 0xff;
            if (i >= 100 && i < 1100) {
                assertEquals(1, Integer.bitCount(diff), "byte " + i + " must differ in exactly one bit");
            } else {
                assertEquals(0, diff, "byte " + i + " outside the corrupted range changed");
            }
        }
        assertArrayEquals(stored, read(0, 4096), "reads return the corrupted bytes");

        MemoryBlockDevice twin = new MemoryBlockDevice(SIZE_BYTES);
        twin.write(0, ByteBuffer.wrap(original));
        new FaultInjectingBlockDevice(twin).corrupt(100, 1000, 77);
        ByteBuffer twinBytes = ByteBuffer.allocate(4096);
        twin.read(0, twinBytes);
        assertArrayEquals(stored, twinBytes.array(), "same seed, same corruption");
    }

    @Test
    void flipOnReadChangesReturnedBytesButNotStoredOnes() throws IOException {
        byte[] original = bytes(1000, 0x40);
        write(0, original);
        device.flipOnRead(300, 100);
        ByteBuffer dst = ByteBuffer.allocateDirect(1010).position(10); // non-zero position
        device.read(200, dst);
        for (int i = 0; i < 1000 - 200; i++) {
            long offset = 200 + i;
            byte expected = offset >= 300 && offset < 400 ? (byte) 0x41 : (byte) 0x40;
            if (offset < 1000) {
                assertEquals(expected, dst.get(10 + i), "byte at offset " + offset);
            }
        }
        assertArrayEquals(original, readInner(0, 1000), "stored bytes must be untouched");
        device.clearFlips();
        assertArrayEquals(original, read(0, 1000));
    }

    @Test
    void latencyIsALowerBoundOnEveryOperation() throws IOException {
        long latencyNs = TimeUnit.MILLISECONDS.toNanos(20);
        device.latencyNs(latencyNs);
        long startNs = System.nanoTime();
        device.read(0, ByteBuffer.allocate(1));
        long readNs = System.nanoTime() - startNs;
        startNs = System.nanoTime();
        device.flush();
        long flushNs = System.nanoTime() - startNs;
        assertTrue(readNs >= latencyNs, "read took " + readNs + " ns");
        assertTrue(flushNs >= latencyNs, "flush took " + flushNs + " ns");
        device.latencyNs(0);
        startNs = System.nanoTime();
        device.read(0, ByteBuffer.allocate(1));
        assertTrue(System.nanoTime() - startNs < latencyNs, "latency 0 must remove the delay");
    }

    @Test
    void hangBlocksCallsUntilRelease() throws Exception {
        write(0, bytes(16, 9));
        device.hang();
        CompletableFuture<byte[]> first = CompletableFuture.supplyAsync(() -> readUnchecked(0, 16), executor);
        awaitCondition(() -> device.hungCalls() == 1, "first call to hang");
        device.hang(); // arming again must not orphan the call already hung
        CompletableFuture<byte[]> second = CompletableFuture.supplyAsync(() -> readUnchecked(0, 16), executor);
        awaitCondition(() -> device.hungCalls() == 2, "second call to hang");
        assertFalse(first.isDone());
        assertFalse(second.isDone());

        device.release();
        assertArrayEquals(bytes(16, 9), first.get(30, TimeUnit.SECONDS));
        assertArrayEquals(bytes(16, 9), second.get(30, TimeUnit.SECONDS));
        assertEquals(0, device.hungCalls());
        assertArrayEquals(bytes(16, 9), read(0, 16), "after release new calls run straight through");
    }

    @Test
    void closeReleasesHungCalls() throws Exception {
        device.hang();
        CompletableFuture<byte[]> hung = CompletableFuture.supplyAsync(() -> readUnchecked(0, 16), executor);
        awaitCondition(() -> device.hungCalls() == 1, "call to hang");
        device.close();
        Throwable failure = assertThrows(Exception.class, () -> hung.get(30, TimeUnit.SECONDS));
        assertTrue(failure.getCause() instanceof RuntimeException, failure.toString());
        assertEquals(0, device.hungCalls());
    }

    @Test
    void powerCutRevertsUnflushedWritesAndKeepsFlushedOnes() throws IOException {
        device.trackUnflushedWrites();
        write(0, bytes(4096, 1));
        device.flush();
        write(0, bytes(1000, 2)); // unflushed overwrite of flushed data
        write(100_000, bytes(3000, 3)); // unflushed write over zeroes
        device.writeZeroes(2048, 1024); // unflushed zeroing of flushed data
        write(200_000, bytes(512, 4));
        device.discard(200_000, 512); // unflushed discard of unflushed data

        device.powerCut(null);
        assertInjected("power is off", () -> device.read(0, ByteBuffer.allocate(1)));
        assertInjected("power is off", () -> device.write(0, ByteBuffer.allocate(1)));
        assertInjected("power is off", device::flush);
        device.powerRestore();

        assertArrayEquals(bytes(4096, 1), read(0, 4096));
        assertArrayEquals(new byte[3000], read(100_000, 3000));
        assertArrayEquals(new byte[512], read(200_000, 512));
    }

    @Test
    void tornPowerCutKeepsARandomSubsetOfWholeSectorsReproducibly() throws IOException {
        byte[] first = tornOutcome(42);
        assertArrayEquals(first, tornOutcome(42), "same seed, same torn outcome");
        int kept = 0;
        int reverted = 0;
        for (int sector = 0; sector < 64; sector++) {
            byte[] bytes = Arrays.copyOfRange(first, sector * 512, (sector + 1) * 512);
            if (Arrays.equals(bytes, bytes(512, 0x77))) {
                kept++;
            } else {
                assertArrayEquals(bytes(512, 1), bytes, "sector " + sector + " is neither old nor new");
                reverted++;
            }
        }
        assertTrue(kept > 0 && reverted > 0, "kept " + kept + ", reverted " + reverted);
        assertNotEquals(Arrays.toString(first), Arrays.toString(tornOutcome(43)), "the seed must matter");
    }

    @Test
    void powerCutWithoutTrackingIsAnError() {
        assertThrows(IllegalStateException.class, () -> device.powerCut(null));
    }

    @Test
    void countersCountSuccessfulOperations() throws IOException {
        write(0, bytes(10, 1));
        device.writeZeroes(0, 10);
        device.read(0, ByteBuffer.allocate(10));
        device.read(0, ByteBuffer.allocate(10));
        device.read(0, ByteBuffer.allocate(10));
        device.flush();
        device.failReads(0, 1);
        assertInjected("EIO", () -> device.read(0, ByteBuffer.allocate(1)));
        assertEquals(3, device.reads());
        assertEquals(2, device.writes());
        assertEquals(1, device.flushes());
        assertEquals(1, device.failures());
    }

    // ------------------------------------------------------------------------------------ helpers

    /** Writes 64 new sectors over flushed ones, cuts power with {@code seed}, returns what survived. */
    private static byte[] tornOutcome(long seed) throws IOException {
        MemoryBlockDevice inner = new MemoryBlockDevice(SIZE_BYTES);
        FaultInjectingBlockDevice faulty = new FaultInjectingBlockDevice(inner);
        faulty.trackUnflushedWrites();
        faulty.write(0, ByteBuffer.wrap(bytes(64 * 512, 1)));
        faulty.flush();
        faulty.write(0, ByteBuffer.wrap(bytes(64 * 512, 0x77)));
        faulty.powerCut(seed);
        faulty.powerRestore();
        ByteBuffer survived = ByteBuffer.allocate(64 * 512);
        faulty.read(0, survived);
        return survived.array();
    }

    private interface IoCall {
        void run() throws IOException;
    }

    private static void assertInjected(String expected, IoCall call) {
        IOException e = assertThrows(IOException.class, call::run);
        assertTrue(e.getMessage().contains(expected), "expected '" + expected + "' in: " + e.getMessage());
    }

    /** Polls without sleeping; fails after a generous deadline rather than hanging the build. */
    private static void awaitCondition(BooleanSupplier condition, String what) {
        long deadlineNs = System.nanoTime() + TIMEOUT_NS;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadlineNs > 0) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.onSpinWait();
            Thread.yield();
        }
    }

    private void write(long offsetBytes, byte[] data) throws IOException {
        device.write(offsetBytes, ByteBuffer.wrap(data));
    }

    private byte[] read(long offsetBytes, int lengthBytes) throws IOException {
        ByteBuffer dst = ByteBuffer.allocate(lengthBytes);
        device.read(offsetBytes, dst);
        return dst.array();
    }

    private byte[] readUnchecked(long offsetBytes, int lengthBytes) {
        try {
            return read(offsetBytes, lengthBytes);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private byte[] readInner(long offsetBytes, int lengthBytes) throws IOException {
        ByteBuffer dst = ByteBuffer.allocate(lengthBytes);
        memory.read(offsetBytes, dst);
        return dst.array();
    }

    private static byte[] bytes(int lengthBytes, int value) {
        byte[] bytes = new byte[lengthBytes];
        Arrays.fill(bytes, (byte) value);
        return bytes;
    }
}
