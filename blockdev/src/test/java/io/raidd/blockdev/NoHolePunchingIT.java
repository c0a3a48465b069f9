package io.raidd.blockdev;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Image files on ramfs, which answers fallocate with EOPNOTSUPP and has no hole tracking: discard
 * and write-zeroes must fall back to writing zeroes, and allocation must say "all data". Needs root
 * to mount ramfs; fails, never skips, without it.
 */
class NoHolePunchingIT {
    @TempDir
    Path dir;

    private boolean mounted;

    @BeforeEach
    void mountRamfs() throws Exception {
        run("mount", "-t", "ramfs", "raidd-test", dir.toString());
        mounted = true;
    }

    @AfterEach
    void unmount() throws Exception {
        if (mounted) {
            run("umount", dir.toString());
        }
    }

    @Test
    void writeZeroesAndDiscardFallBackToWritingZeroes() throws IOException {
        long seed = Long.getLong("blockdev.seed", System.nanoTime());
        System.out.println("NoHolePunchingIT seed=" + seed);
        int sizeBytes = 4 << 20;
        byte[] model = new byte[sizeBytes];
        new Random(seed).nextBytes(model);
        try (FileBlockDevice device = FileBlockDevice.create(dir.resolve("ram.img"), sizeBytes)) {
            device.write(0, ByteBuffer.wrap(model));
            device.writeZeroes(1000, 3 << 20);
            Arrays.fill(model, 1000, 1000 + (3 << 20), (byte) 0);
            device.discard(sizeBytes - 5000, 4000);
            Arrays.fill(model, sizeBytes - 5000, sizeBytes - 1000, (byte) 0);
            ByteBuffer back = ByteBuffer.allocate(sizeBytes);
            device.read(0, back);
            assertArrayEquals(model, back.array());
            List<Extent> extents = device.allocation(0, sizeBytes);
            assertEquals(List.of(new Extent(0, sizeBytes, false, false)), extents);
        }
    }

    /** ramfs has no fallocate either: preallocation writes the zeroes itself. */
    @Test
    void preallocationFallsBackToWritingZeroes() throws IOException {
        int sizeBytes = 3 << 20;
        Path image = dir.resolve("prealloc.img");
        try (FileBlockDevice device = FileBlockDevice.create(image, sizeBytes, true)) {
            ByteBuffer back = ByteBuffer.allocate(sizeBytes);
            device.read(0, back);
            assertArrayEquals(new byte[sizeBytes], back.array());
            assertEquals(List.of(new Extent(0, sizeBytes, false, false)), device.allocation(0, sizeBytes));
        }
        assertEquals(sizeBytes, java.nio.file.Files.size(image));
    }

    private static void run(String... command) throws Exception {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(60, TimeUnit.SECONDS), String.join(" ", command) + " timed out");
        assertEquals(
                0,
                process.exitValue(),
                String.join(" ", command) + " failed (needs root to mount ramfs): " + output.trim());
    }
}
