package io.raidd.blockdev;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link RawBlockDevice} on real loop devices. Needs root and {@code losetup} (util-linux); fails,
 * never skips, without them. Randomised parts print their seed; rerun with {@code
 * -Dblockdev.seed=N}.
 */
class LoopDeviceIT {
    private static final int MIB = 1024 * 1024;
    private static final long IMAGE_BYTES = 64L * MIB;

    @TempDir
    Path dir;

    @Test
    void loopDeviceWith512ByteSectors(TestInfo info) throws Exception {
        exercise(info, 512);
    }

    @Test
    void loopDeviceWith4096ByteSectors(TestInfo info) throws Exception {
        exercise(info, 4096);
    }

    /**
     * A device resized under us ({@code losetup --set-capacity} after the backing file shrank, as an
     * lvreduce or a resized virtual disk would): reads and writes past the new end, and the identity
     * check, say the device is gone. A block device answers a write past its end with ENOSPC; that is
     * not a full file system.
     */
    @Test
    void aLoopDeviceThatShrankUnderUsIsGone() throws Exception {
        Path image = dir.resolve("shrinking.img");
        FileBlockDevice.create(image, IMAGE_BYTES).close();
        Path loop = attach(image, 512);
        try (BlockDevice device = BlockDevices.open(loop, false)) {
            byte[] tail = new byte[4096];
            Arrays.fill(tail, (byte) 7);
            device.write(IMAGE_BYTES - 4096, ByteBuffer.wrap(tail));
            device.flush();
            device.checkIdentity();

            try (RandomAccessFile file = new RandomAccessFile(image.toFile(), "rw")) {
                file.setLength(IMAGE_BYTES / 2);
            }
            run(List.of("losetup", "--set-capacity", loop.toString()));

            String shrank = loop + " shrank from " + IMAGE_BYTES + " to " + IMAGE_BYTES / 2 + " bytes under raidd";
            DeviceGoneException read = assertThrows(
                    DeviceGoneException.class, () -> device.read(IMAGE_BYTES - 4096, ByteBuffer.allocate(4096)));
            assertTrue(read.getMessage().startsWith(shrank), read.getMessage());
            DeviceGoneException write = assertThrows(
                    DeviceGoneException.class, () -> device.write(IMAGE_BYTES - 4096, ByteBuffer.wrap(tail)));
            assertTrue(write.getMessage().startsWith(shrank), write.getMessage());
            DeviceGoneException identity = assertThrows(DeviceGoneException.class, device::checkIdentity);
            assertEquals(shrank, identity.getMessage());
            device.read(0, ByteBuffer.allocate(4096));
        } finally {
            detach(loop);
        }
    }

    private void exercise(TestInfo info, int sectorBytes) throws Exception {
        long seed = Long.getLong("blockdev.seed", System.nanoTime());
        System.out.println("LoopDeviceIT." + info.getDisplayName() + " seed=" + seed);
        Path image = dir.resolve("loop-" + sectorBytes + ".img");
        FileBlockDevice.create(image, IMAGE_BYTES).close();
        Path loop = attach(image, sectorBytes);
        try {
            try (BlockDevice device = BlockDevices.open(loop, false)) {
                assertInstanceOf(RawBlockDevice.class, device);
                assertEquals(IMAGE_BYTES, device.sizeBytes());
                assertEquals(sectorBytes, device.logicalBlockSizeBytes());
                assertEquals(1, device.allocation(0, IMAGE_BYTES).size());

                IOException busy = assertThrows(IOException.class, () -> BlockDevices.open(loop, false));
                assertTrue(busy.getMessage().contains("in use"), busy.getMessage());

                readsAndWritesUnaligned(device, new Random(seed));
                writeZeroesAndDiscardReachTheDevice(device, image, new Random(seed + 1));
            }
            try (BlockDevice readOnly = BlockDevices.open(loop, true)) {
                assertTrue(readOnly.isReadOnly());
                assertThrows(IOException.class, () -> readOnly.write(0, ByteBuffer.allocate(1)));
                assertThrows(IOException.class, () -> readOnly.discard(0, MIB));
            }
        } finally {
            detach(loop);
        }
    }

    private static void readsAndWritesUnaligned(BlockDevice device, Random random) throws IOException {
        byte[] model = new byte[8 * MIB];
        for (int op = 0; op < 300; op++) {
            int lengthBytes = 1 + random.nextInt(64 * 1024);
            int offsetBytes = random.nextInt(model.length - lengthBytes);
            ByteBuffer buffer = BlockDeviceContractTest.randomBuffer(random, lengthBytes);
            int start = buffer.position();
            if (random.nextBoolean()) {
                byte[] data = new byte[lengthBytes];
                random.nextBytes(data);
                buffer.put(data).position(start);
                device.write(offsetBytes, buffer);
                System.arraycopy(data, 0, model, offsetBytes, lengthBytes);
            } else {
                device.read(offsetBytes, buffer);
                byte[] actual = new byte[lengthBytes];
                buffer.position(start).get(actual);
                assertArrayEquals(
                        Arrays.copyOfRange(model, offsetBytes, offsetBytes + lengthBytes),
                        actual,
                        "read " + lengthBytes + " at " + offsetBytes);
            }
        }
        device.flush();
        device.writeDurable(IMAGE_BYTES - 3, ByteBuffer.wrap(new byte[] {1, 2, 3}));
        ByteBuffer tail = ByteBuffer.allocate(3);
        device.read(IMAGE_BYTES - 3, tail);
        assertArrayEquals(new byte[] {1, 2, 3}, tail.array());
    }

    private static void writeZeroesAndDiscardReachTheDevice(BlockDevice device, Path image, Random random)
            throws IOException {
        long regionBytes = 16L * MIB;
        byte[] data = new byte[16 * MIB];
        random.nextBytes(data);
        device.write(regionBytes, ByteBuffer.wrap(data));
        device.flush();
        long filledBytes = FileBlockDeviceIT.allocatedBytes(image);
        assertTrue(filledBytes >= 16L * MIB, "backing image should hold the data, has " + filledBytes);

        // Unaligned at both ends: partial sectors are written, whole ones zeroed by BLKZEROOUT.
        long zeroOffsetBytes = regionBytes + 1000;
        int zeroLengthBytes = 3 * MIB + 77;
        device.writeZeroes(zeroOffsetBytes, zeroLengthBytes);
        ByteBuffer around = ByteBuffer.allocate(zeroLengthBytes + 2000);
        device.read(zeroOffsetBytes - 1000, around);
        byte[] expected = Arrays.copyOfRange(data, 0, zeroLengthBytes + 2000);
        Arrays.fill(expected, 1000, 1000 + zeroLengthBytes, (byte) 0);
        assertArrayEquals(expected, around.array(), "write-zeroes content or its neighbours");

        // Discard 8 MiB of whole sectors: the loop driver punches the backing file.
        device.discard(regionBytes + 8L * MIB, 8L * MIB);
        device.flush();
        long afterDiscardBytes = FileBlockDeviceIT.allocatedBytes(image);
        assertTrue(
                afterDiscardBytes <= filledBytes - 7L * MIB,
                "BLKDISCARD should free backing space: " + filledBytes + " -> " + afterDiscardBytes);
        ByteBuffer kept = ByteBuffer.allocate(4096);
        device.read(regionBytes + 8L * MIB - 4096, kept);
        assertArrayEquals(Arrays.copyOfRange(data, 8 * MIB - 4096, 8 * MIB), kept.array(), "data before discard");
    }

    // ------------------------------------------------------------------------------------ losetup

    private static Path attach(Path image, int sectorBytes) throws IOException {
        List<String> command = new ArrayList<>(List.of("losetup", "--find", "--show"));
        if (sectorBytes != 512) {
            command.addAll(List.of("--sector-size", Integer.toString(sectorBytes)));
        }
        command.add(image.toString());
        String device = run(command).trim();
        if (!device.startsWith("/dev/")) {
            fail("losetup printed no device: '" + device + "'");
        }
        return Paths.get(device);
    }

    private static void detach(Path loop) throws IOException {
        run(List.of("losetup", "--detach", loop.toString()));
    }

    private static String run(List<String> command) throws IOException {
        Process process;
        try {
            process = new ProcessBuilder(command).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new AssertionError(
                    "LoopDeviceIT needs '" + command.get(0) + "' (util-linux) and root; could not run it: " + e, e);
        }
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new AssertionError(String.join(" ", command) + " timed out");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
        if (process.exitValue() != 0) {
            throw new AssertionError(String.join(" ", command) + " failed (exit " + process.exitValue()
                    + ", LoopDeviceIT needs root and loop devices): " + output.trim());
        }
        return output;
    }
}
