package io.raidd.raid.md;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raidd.blockdev.FileBlockDevice;
import io.raidd.raid.layout.Geometry;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * mdadm is the oracle for what raidd writes: members formatted by raidd must examine as md members
 * with the right fields and a correct checksum, and a damaged superblock must look damaged to both.
 */
class MdadmExamineIT {
    private static final long MEMBER_BYTES = 64L << 20;

    @TempDir
    Path dir;

    static String run(String... command) throws IOException, InterruptedException {
        Process p;
        try {
            p = new ProcessBuilder(command).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new AssertionError(command[0] + " is required for this test (install mdadm): " + e.getMessage(), e);
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), command[0] + " did not finish");
        return out;
    }

    /** "Key : value" lines of mdadm --examine. */
    static Map<String, String> fields(String examine) {
        Map<String, String> f = new LinkedHashMap<>();
        for (String line : examine.split("\n")) {
            int colon = line.indexOf(" : ");
            if (colon > 0) {
                f.put(line.substring(0, colon).trim(), line.substring(colon + 3).trim());
            }
        }
        return f;
    }

    private List<Path> format(int level, String layout, int n, int chunkKiB) throws IOException {
        List<NamedDevice> devices = new ArrayList<>();
        List<Path> paths = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Path p = dir.resolve("d" + i + ".img");
            paths.add(p);
            devices.add(new NamedDevice(p.toString(), FileBlockDevice.create(p, MEMBER_BYTES)));
        }
        int layoutCode = layout.equals("-") ? Geometry.defaultLayout(level) : Geometry.parseLayout(level, layout);
        try {
            ArrayFormatter.format(
                    devices,
                    new ArrayFormatter.Spec(level, layoutCode, chunkKiB * 1024, "vol" + level, null, true, false));
        } finally {
            for (NamedDevice d : devices) {
                d.device().close();
            }
        }
        return paths;
    }

    @ParameterizedTest(name = "RAID-{0} {1} n={2}")
    @CsvSource({
        "0, -, 2, 64, raid0, original",
        "0, -, 3, 512, raid0, original",
        "1, -, 2, 0, raid1, ",
        "1, -, 3, 0, raid1, ",
        "4, -, 3, 64, raid4, ",
        "5, left-symmetric, 3, 64, raid5, left-symmetric",
        "5, right-asymmetric, 4, 128, raid5, right-asymmetric",
        "5, parity-first, 5, 64, raid5, parity-first",
        "6, left-symmetric, 4, 64, raid6, left-symmetric",
        "6, left-asymmetric, 6, 512, raid6, left-asymmetric",
        "10, n2, 4, 64, raid10, near=2",
        "10, n2, 3, 64, raid10, near=2",
        "10, n3, 4, 64, raid10, near=3",
        "10, f2, 4, 64, raid10, far=2",
        "10, o2, 3, 64, raid10, offset=2"
    })
    void mdadmReadsWhatRaiddWrites(int level, String layout, int n, int chunkKiB, String mdLevel, String mdLayout)
            throws Exception {
        List<Path> paths = format(level, layout, n, chunkKiB);
        for (int slot = 0; slot < n; slot++) {
            String out = run("mdadm", "--examine", paths.get(slot).toString());
            Map<String, String> f = fields(out);
            assertTrue(f.getOrDefault("Checksum", "").endsWith("- correct"), out);
            assertEquals("1.2", f.get("Version"), out);
            assertEquals(mdLevel, f.get("Raid Level"), out);
            assertEquals(String.valueOf(n), f.get("Raid Devices"), out);
            assertEquals("Active device " + slot, f.get("Device Role"), out);
            assertTrue(f.get("Array State").startsWith("A".repeat(n) + " "), out);
            assertEquals("1", f.get("Events"), out);
            assertEquals("clean", f.get("State"), out);
            assertEquals("vol" + level, f.get("Name"), out);
            Superblock sb;
            try (FileBlockDevice d = FileBlockDevice.open(paths.get(slot), true)) {
                sb = SuperblockCodec.read(d);
            }
            assertEquals(sb.arrayUuid(), f.get("Array UUID"), out);
            assertEquals(sb.dataOffsetSectors() + " sectors", f.get("Data Offset"), out);
            assertTrue(f.get("Avail Dev Size").startsWith(sb.dataSizeSectors() + " sectors"), out);
            if (mdLayout != null) {
                assertEquals(mdLayout, f.get("Layout"), out);
            }
            if (level != 1) {
                assertEquals(chunkKiB + "K", f.get("Chunk Size"), out);
            }
            if (level != 0) {
                // mdadm prints the array size from the fields we set. For RAID-10 it divides without
                // rounding to whole chunks (examine's estimate); the kernel, and our Geometry, round
                // down to chunks (raid10.c raid10_size).
                Geometry g = Geometry.of(level, sb.layout(), level == 1 ? 4096 : chunkKiB * 1024, n, sb.sizeBytes());
                long expectedKiB = level == 10
                        ? sb.sizeBytes() * n / g.mirrorLayout().copies() / 1024
                        : g.volumeSizeBytes() / 1024;
                assertTrue(
                        f.get("Array Size").startsWith(expectedKiB + " KiB"),
                        "expected " + expectedKiB + " KiB: " + out);
                assertTrue(g.volumeSizeBytes() / 1024 <= expectedKiB);
            }
            String brief = run("mdadm", "--examine", "--brief", paths.get(slot).toString());
            assertTrue(brief.contains("UUID=" + sb.arrayUuid()), brief);
        }
    }

    @ParameterizedTest(name = "flipped byte at {0}")
    @CsvSource({"40", "100", "300"})
    void aFlippedSuperblockByteIsWrongForMdadmAndForUs(int offsetInSuperblock) throws Exception {
        List<Path> paths = format(5, "left-symmetric", 3, 64);
        long at = SuperblockDescriptor.SUPER_OFFSET_BYTES + offsetInSuperblock;
        try (FileBlockDevice d = FileBlockDevice.open(paths.get(1), false)) {
            ByteBuffer b = ByteBuffer.allocate(1);
            d.read(at, b);
            d.write(at, ByteBuffer.wrap(new byte[] {(byte) (b.get(0) ^ 0x20)}));
            d.flush();
            InvalidSuperblockException e =
                    assertThrows(InvalidSuperblockException.class, () -> SuperblockCodec.read(d));
            assertTrue(e.getMessage().contains("checksum mismatch"), e.getMessage());
        }
        String out = run("mdadm", "--examine", paths.get(1).toString());
        assertTrue(fields(out).getOrDefault("Checksum", "").contains("expected"), out);
        assertTrue(Files.size(paths.get(1)) == MEMBER_BYTES);
    }
}
