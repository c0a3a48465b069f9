package io.raidd.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raidd.cli.daemon.Daemon;
import io.raidd.cli.daemon.DaemonConfig;
import io.raidd.raid.volume.RaidVolume;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Real NBD clients (libnbd's nbdinfo and nbdcopy, qemu-io, qemu-img) against one in-process daemon
 * serving a RAID-6 of six members ("r6", 64 KiB chunks) and a RAID-5 of five ("r5", 512 KiB
 * chunks). Each test works in its own region of the volumes, so they do not see each other's data:
 *
 * <pre>
 *   [0, 256M)      nbdcopy          [256M, 272M)  qemu-io
 *   [272M, 320M)   qemu-img convert [400M, 402M)  nbdinfo --map (runs first: the volume is fresh)
 * </pre>
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ExternalClientsIT {
    private static final Duration TIMEOUT = Duration.ofMinutes(2);
    private static final long SEED = Long.getLong("raidd.test.seed", System.nanoTime());
    private static final long MIB = 1L << 20;
    private static final long COPY_BYTES = 256 * MIB;
    private static final long QEMU_IO_BASE = 256 * MIB;
    private static final long CONVERT_BASE = 272 * MIB;
    private static final long CONVERT_BYTES = 48 * MIB;
    private static final long MAP_BASE = 400 * MIB;

    @TempDir
    static Path tmp;

    private static Scratch scratch;
    private static Daemon daemon;
    private static Path copySource;

    @BeforeAll
    static void start() throws Exception {
        System.out.println("ExternalClientsIT seed " + SEED + " (-Draidd.test.seed=" + SEED + " repeats it)");
        scratch = new Scratch("raidd-clients-");
        List<Path> r6 = scratch.members("r6-", 6);
        List<Path> r5 = scratch.members("r5-", 5);
        Scratch.create(6, "64K", "128M", "r6", r6);
        Scratch.create(5, "512K", "128M", "r5", r5);
        DaemonConfig.Builder b = new DaemonConfig.Builder();
        b.members.addAll(r6);
        b.members.addAll(r5);
        b.listen.add(new DaemonConfig.HostPort("127.0.0.1", 0));
        b.controlSocket = scratch.resolve("raidd.sock");
        daemon = Daemon.start(b.build());
        copySource = scratch.resolve("copy-source.raw");
        writeRandomFile(copySource, COPY_BYTES, SEED);
    }

    @AfterAll
    static void stop() throws IOException {
        try {
            if (daemon != null) {
                daemon.close();
            }
        } finally {
            if (scratch != null) {
                scratch.close();
            }
        }
    }

    private static String uri(String export) {
        for (String u : daemon.uris()) {
            if (u.endsWith("/" + export)) {
                return u;
            }
        }
        throw new AssertionError("no URI for " + export + " in " + daemon.uris());
    }

    private static RaidVolume volume(String export) {
        return daemon.volumes().stream()
                .filter(v -> v.name().equals(export))
                .findFirst()
                .orElseThrow();
    }

    private static int chunkBytes(String export) {
        return export.equals("r6") ? 64 << 10 : 512 << 10;
    }

    private static String nbdinfo() {
        return Tools.require("nbdinfo", "libnbd-bin");
    }

    @Test
    void daemonListensOnAnEphemeralPort() {
        for (String u : daemon.uris()) {
            URI parsed = URI.create(u);
            assertEquals("127.0.0.1", parsed.getHost(), u);
            assertTrue(parsed.getPort() > 0, "the URI shows the bound port, not 0: " + u);
        }
        assertEquals(2, daemon.uris().size(), daemon.uris().toString());
    }

    @Order(1)
    @ParameterizedTest
    @ValueSource(strings = {"r6", "r5"})
    void mapIsAllHoleOnAFreshVolumeThenShowsData(String export) throws Exception {
        long size = volume(export).sizeBytes();
        List<long[]> fresh = map(export);
        assertEquals(1, fresh.size(), "fresh volume is one extent: " + render(fresh));
        assertArrayEquals(new long[] {0, size, 3}, fresh.get(0), "fresh volume is hole,zero: " + render(fresh));

        long offset = MAP_BASE + 12 * 1024;
        long length = MIB;
        qemuIo(export, "write -P 0x5a " + offset + " " + length);
        List<long[]> after = map(export);
        long margin = 4 * MIB; // allocation is tracked per block or stripe, never wider than this
        for (long[] e : after) {
            long end = e[0] + e[1];
            if (end > offset && e[0] < offset + length) {
                assertEquals(0, e[2] & 2, "written range reported as zero: " + render(after));
            }
            if (end <= offset - margin || e[0] >= offset + length + margin) {
                assertEquals(3, e[2], "unwritten range reported as data: " + render(after));
            }
        }
        assertTrue(after.size() >= 3, render(after));
    }

    /** Parses {@code nbdinfo --map} into contiguous (offset, length, type) extents covering the volume. */
    private static List<long[]> map(String export) throws Exception {
        String out = Tools.run(TIMEOUT, nbdinfo(), "--map", uri(export))
                .assertSuccess()
                .stdout();
        List<long[]> extents = new ArrayList<>();
        long next = 0;
        for (String line : out.strip().split("\n")) {
            String[] f = line.trim().split("\\s+");
            long[] e = {Long.parseLong(f[0]), Long.parseLong(f[1]), Long.parseLong(f[2])};
            assertEquals(next, e[0], "extents are contiguous:\n" + out);
            next = e[0] + e[1];
            extents.add(e);
        }
        assertEquals(volume(export).sizeBytes(), next, "extents cover the volume:\n" + out);
        return extents;
    }

    private static String render(List<long[]> extents) {
        StringBuilder s = new StringBuilder();
        for (long[] e : extents) {
            s.append(String.format("%n  %12d %12d %d", e[0], e[1], e[2]));
        }
        return s.toString();
    }

    @ParameterizedTest
    @ValueSource(strings = {"r6", "r5"})
    void nbdinfoDescribesTheExport(String export) throws Exception {
        String out = Tools.run(TIMEOUT, nbdinfo(), uri(export)).assertSuccess().stdout();
        assertTrue(out.contains("export=\"" + export + "\""), out);
        assertTrue(out.contains("export-size: " + volume(export).sizeBytes()), out);
        assertTrue(out.contains("description: raidd RAID-" + export.charAt(1)), out);
        for (String line : List.of(
                "is_read_only: false",
                "can_flush: true",
                "can_fua: true",
                "can_trim: true",
                "can_zero: true",
                "can_multi_conn: true",
                "block_size_minimum: 512",
                // a full stripe: 4 data chunks of 64K (r6) or 512K (r5)
                "block_size_preferred: " + volume(export).optimalWriteBytes(),
                "base:allocation")) {
            assertTrue(out.contains(line), line + " in\n" + out);
        }
    }

    @Test
    void nbdinfoListsBothArrays() throws Exception {
        String out = Tools.run(TIMEOUT, nbdinfo(), "--list", uri("r6"))
                .assertSuccess()
                .stdout();
        assertTrue(out.contains("export=\"r6\""), out);
        assertTrue(out.contains("export=\"r5\""), out);
        assertTrue(out.contains("description: raidd RAID-6 left-symmetric, 6 members, chunk 64 KiB"), out);
        assertTrue(out.contains("description: raidd RAID-5 left-symmetric, 5 members, chunk 512 KiB"), out);
    }

    @ParameterizedTest
    @ValueSource(strings = {"r6", "r5"})
    void nbdcopyRoundTripsRandomData(String export) throws Exception {
        String nbdcopy = Tools.require("nbdcopy", "libnbd-bin");
        long before = volume(export).bytesWritten();
        Tools.run(TIMEOUT, nbdcopy, copySource.toString(), uri(export)).assertSuccess();
        assertTrue(volume(export).bytesWritten() - before >= COPY_BYTES, "the data went through the volume");
        String expected = sha256(copySource, COPY_BYTES);
        assertEquals(expected, sha256OfOutput(List.of(nbdcopy, uri(export), "-"), COPY_BYTES), "sha256 read back");
    }

    @ParameterizedTest
    @ValueSource(strings = {"r6", "r5"})
    void qemuIoAtOddOffsetsKeepsTheNeighbours(String export) throws Exception {
        long b = QEMU_IO_BASE;
        long c = chunkBytes(export);
        long area = 16 * MIB;
        // 512-aligned, not 4K-aligned, crossing the chunk boundaries at c and 2c.
        long w = b + c - 1536;
        long wLen = c + 3072;
        // write-zeroes across the boundaries at 3c and 4c.
        long z = b + 3 * c - 512;
        long zLen = c + 1024;
        // discard across 5c..7c; the contents inside are undefined (a hint), the neighbours are not.
        long d = b + 5 * c + 512;
        long dLen = 2 * c;
        // a sub-sector write: qemu does the read-modify-write of the two sectors around it.
        long s = b + 8 * c + 100;
        long sLen = 300;
        String out = qemuIo(
                export,
                "write -P 0x11 " + b + " " + area,
                "write -P 0x22 " + w + " " + wLen,
                "write -z " + z + " " + zLen,
                "discard " + d + " " + dLen,
                "write -P 0x33 " + s + " " + sLen,
                "flush",
                "read -P 0x11 " + b + " " + (w - b),
                "read -P 0x22 " + w + " " + wLen,
                "read -P 0x11 " + (w + wLen) + " " + (z - w - wLen),
                "read -P 0x00 " + z + " " + zLen,
                "read -P 0x11 " + (z + zLen) + " " + (d - z - zLen),
                "read -P 0x11 " + (d + dLen) + " " + (s - d - dLen),
                "read -P 0x33 " + s + " " + sLen,
                "read -P 0x11 " + (s + sLen) + " " + (b + area - s - sLen),
                "read -v " + (w - 16) + " 32",
                "read -v " + (z - 16) + " 32");
        byte[] aroundWrite = hexDump(out, w - 16, 32);
        byte[] aroundZero = hexDump(out, z - 16, 32);
        for (int i = 0; i < 32; i++) {
            assertEquals(i < 16 ? 0x11 : 0x22, aroundWrite[i] & 0xff, "byte " + i + " around the write\n" + out);
            assertEquals(i < 16 ? 0x11 : 0x00, aroundZero[i] & 0xff, "byte " + i + " around the zeroes\n" + out);
        }
        // A second connection sees the same bytes (and nothing was cached by the first client).
        qemuIo(
                export,
                "read -P 0x11 " + b + " " + (w - b),
                "read -P 0x22 " + w + " " + wLen,
                "read -P 0x00 " + z + " " + zLen,
                "read -P 0x11 " + (z + zLen) + " " + (d - z - zLen),
                "read -P 0x33 " + s + " " + sLen,
                "read -P 0x11 " + (s + sLen) + " " + (b + area - s - sLen));
    }

    private static String qemuIo(String export, String... commands) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Tools.require("qemu-io", "qemu-utils"), "-f", "raw"));
        for (String c : commands) {
            cmd.add("-c");
            cmd.add(c);
        }
        cmd.add(uri(export));
        Tools.Result r = Tools.run(TIMEOUT, cmd).assertSuccess();
        String all = r.stdout() + r.stderr();
        assertTrue(!all.contains("failed") && !all.contains("error"), r.command() + "\n" + all);
        return r.stdout();
    }

    /** Bytes [offset, offset+length) from qemu-io's {@code read -v} hex dump lines. */
    private static byte[] hexDump(String out, long offset, int length) {
        byte[] bytes = new byte[length];
        boolean[] seen = new boolean[length];
        Pattern line = Pattern.compile("^([0-9a-f]{8,16}):\\s+((?:[0-9a-f]{2} ?)+)", Pattern.MULTILINE);
        Matcher m = line.matcher(out);
        while (m.find()) {
            long at = Long.parseLong(m.group(1), 16);
            String[] hex = m.group(2).trim().split("\\s+");
            for (int i = 0; i < hex.length; i++) {
                long pos = at + i - offset;
                if (pos >= 0 && pos < length) {
                    bytes[(int) pos] = (byte) Integer.parseInt(hex[i], 16);
                    seen[(int) pos] = true;
                }
            }
        }
        for (int i = 0; i < length; i++) {
            assertTrue(seen[i], "byte " + (offset + i) + " in the hex dump\n" + out);
        }
        return bytes;
    }

    @ParameterizedTest
    @ValueSource(strings = {"r6", "r5"})
    void qemuImgConvertInAndOut(String export) throws Exception {
        String qemuImg = Tools.require("qemu-img", "qemu-utils");
        Path in = tmp.resolve("convert-in-" + export + ".raw");
        Path out = tmp.resolve("convert-out-" + export + ".raw");
        writeRandomFile(in, CONVERT_BYTES, SEED + 1);
        URI u = URI.create(uri(export));
        String region = "driver=raw,offset=" + CONVERT_BASE + ",size=" + CONVERT_BYTES
                + ",file.driver=nbd,file.server.type=inet,file.server.host=" + u.getHost() + ",file.server.port="
                + u.getPort() + ",file.export=" + export;
        Tools.run(TIMEOUT, qemuImg, "convert", "-n", "-f", "raw", "--target-image-opts", in.toString(), region)
                .assertSuccess();
        Tools.run(TIMEOUT, qemuImg, "convert", "--image-opts", region, "-O", "raw", out.toString())
                .assertSuccess();
        assertEquals(CONVERT_BYTES, Files.size(out));
        assertEquals(sha256(in, CONVERT_BYTES), sha256(out, CONVERT_BYTES), "qemu-img round trip");
        // And the whole-export form qemu users type.
        String info = Tools.run(TIMEOUT, qemuImg, "info", "-f", "raw", uri(export))
                .assertSuccess()
                .stdout();
        assertTrue(info.contains("(" + volume(export).sizeBytes() + " bytes)"), info);
    }

    static void writeRandomFile(Path file, long lengthBytes, long seed) throws IOException {
        Random random = new Random(seed);
        byte[] block = new byte[1 << 20];
        try (var out = Files.newOutputStream(file)) {
            for (long done = 0; done < lengthBytes; done += block.length) {
                random.nextBytes(block);
                out.write(block, 0, (int) Math.min(block.length, lengthBytes - done));
            }
        }
    }

    static String sha256(Path file, long lengthBytes) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return sha256(in, lengthBytes);
        }
    }

    /** The sha256 of the first {@code lengthBytes} a command writes to stdout (the rest is drained). */
    static String sha256OfOutput(List<String> command, long lengthBytes) throws Exception {
        Process p = new ProcessBuilder(command)
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .start();
        try (InputStream in = p.getInputStream()) {
            String digest = sha256(in, lengthBytes);
            in.transferTo(java.io.OutputStream.nullOutputStream());
            assertTrue(p.waitFor(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS), String.join(" ", command));
            assertEquals(0, p.exitValue(), String.join(" ", command));
            return digest;
        } finally {
            p.destroyForcibly();
        }
    }

    private static String sha256(InputStream in, long lengthBytes) throws IOException {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
        byte[] buf = new byte[1 << 20];
        long left = lengthBytes;
        while (left > 0) {
            int n = in.read(buf, 0, (int) Math.min(buf.length, left));
            assertTrue(n > 0, "stream ended " + left + " bytes early");
            md.update(buf, 0, n);
            left -= n;
        }
        return HexFormat.of().formatHex(md.digest());
    }
}
