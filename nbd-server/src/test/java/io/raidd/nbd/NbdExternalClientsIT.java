package io.raidd.nbd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raidd.blockdev.MemoryBlockDevice;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real NBD clients against the server: libnbd's nbdinfo and nbdcopy, qemu-io and qemu-img, over
 * TCP, a unix socket and TLS. Every tool is required: a missing one fails the test.
 */
@ExtendWith(LeakCheck.class)
class NbdExternalClientsIT {
    private static final Duration TIMEOUT = Duration.ofMinutes(2);
    private static final long SEED = Long.getLong("nbd.test.seed", System.nanoTime());

    @TempDir
    static Path dir;

    private static NbdServer server;
    private static String tcp;
    private static Path socket;
    private static MemoryBlockDevice copyDevice;
    private static MemoryBlockDevice qemuDevice;
    private static MemoryBlockDevice convertDevice;
    private static byte[] qemuInitial;

    @BeforeAll
    static void start() throws IOException {
        System.out.println("NbdExternalClientsIT seed " + SEED);
        MemoryBlockDevice map = new MemoryBlockDevice(8L << 20);
        map.write(1L << 20, ByteBuffer.wrap(random(1 << 20, 1)));
        map.write(4L << 20, ByteBuffer.wrap(random(512 << 10, 2)));
        copyDevice = new MemoryBlockDevice(64L << 20);
        qemuDevice = new MemoryBlockDevice(16L << 20);
        qemuInitial = random(4 << 20, SEED);
        qemuDevice.write(0, ByteBuffer.wrap(qemuInitial));
        convertDevice = new MemoryBlockDevice(32L << 20);
        socket = dir.resolve("nbd.sock");
        server = new NbdServer(NbdServerConfig.builder()
                .listenTcp("127.0.0.1", 0)
                .listenUnix(socket)
                .defaultExport("mem")
                .export(NbdExport.builder("mem", new MemoryBlockDevice(128L << 20))
                        .description("external clients")
                        .fastZero(true)
                        .build())
                .export(NbdExport.builder("ro", new MemoryBlockDevice(4L << 20))
                        .readOnly(true)
                        .build())
                .export(NbdExport.builder("map", map).build())
                .export(NbdExport.builder("copy", copyDevice).fastZero(true).build())
                .export(NbdExport.builder("qemu", qemuDevice).build())
                .export(NbdExport.builder("convert", convertDevice)
                        .fastZero(true)
                        .build())
                .build());
        List<SocketAddress> bound = server.start();
        InetSocketAddress inet = (InetSocketAddress) bound.get(0);
        tcp = "nbd://127.0.0.1:" + inet.getPort();
        assertEquals(UnixDomainSocketAddress.of(socket), bound.get(1));
    }

    @AfterAll
    static void stop() {
        server.close();
        assertFalse(Files.exists(socket), "socket file removed on close");
    }

    private static byte[] random(int length, long seed) {
        byte[] b = new byte[length];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static String nbdinfo() {
        return ExternalTool.require("nbdinfo", "libnbd-bin").toString();
    }

    @Test
    void nbdinfoShowsTheExport() throws Exception {
        String out = ExternalTool.run(TIMEOUT, nbdinfo(), tcp + "/mem")
                .assertSuccess()
                .stdout();
        assertTrue(out.contains("newstyle-fixed without TLS, using structured packets"), out);
        assertTrue(out.contains("description: external clients"), out);
        assertTrue(out.contains("export-size: 134217728"), out);
        for (String line : List.of(
                "is_read_only: false",
                "can_flush: true",
                "can_fua: true",
                "can_trim: true",
                "can_zero: true",
                "can_fast_zero: true",
                "can_df: true",
                "can_cache: true",
                "can_multi_conn: true",
                "block_size_minimum: 512",
                "block_size_preferred: 4096",
                "block_size_maximum: 33554432",
                "base:allocation")) {
            assertTrue(out.contains(line), line + " in\n" + out);
        }
        String ro = ExternalTool.run(TIMEOUT, nbdinfo(), tcp + "/ro")
                .assertSuccess()
                .stdout();
        assertTrue(ro.contains("is_read_only: true"), ro);
        assertTrue(ro.contains("can_trim: false"), ro);
        String byDefault =
                ExternalTool.run(TIMEOUT, nbdinfo(), tcp).assertSuccess().stdout();
        assertTrue(byDefault.contains("export-size: 134217728"), "empty name is the default export\n" + byDefault);
        assertNotEquals(
                0, ExternalTool.run(TIMEOUT, nbdinfo(), tcp + "/missing").exitCode());
    }

    @Test
    void nbdinfoJson() throws Exception {
        String json = ExternalTool.run(TIMEOUT, nbdinfo(), "--json", tcp + "/mem")
                .assertSuccess()
                .stdout();
        assertEquals("134217728", jsonValue(json, "export-size"));
        assertEquals("\"mem\"", jsonValue(json, "export-name"));
        assertEquals("\"external clients\"", jsonValue(json, "description"));
        assertEquals("true", jsonValue(json, "structured"));
        assertEquals("false", jsonValue(json, "TLS"));
        assertEquals("true", jsonValue(json, "can_multi_conn"));
        assertEquals("512", jsonValue(json, "block_size_minimum"));
        assertEquals("33554432", jsonValue(json, "block_size_maximum"));
    }

    private static String jsonValue(String json, String key) {
        Matcher m = Pattern.compile("\"" + Pattern.quote(key) + "\":\\s*(\"[^\"]*\"|[^,\\s}]+)")
                .matcher(json);
        assertTrue(m.find(), key + " in\n" + json);
        return m.group(1);
    }

    @Test
    void nbdinfoListsEveryExport() throws Exception {
        String out = ExternalTool.run(TIMEOUT, nbdinfo(), "--list", tcp)
                .assertSuccess()
                .stdout();
        for (String name : List.of("mem", "ro", "map", "copy", "qemu", "convert")) {
            assertTrue(out.contains("export=\"" + name + "\""), name + " in\n" + out);
        }
        assertTrue(out.contains("description: external clients"), out);
    }

    @Test
    void nbdinfoMapMatchesTheAllocation() throws Exception {
        String out = ExternalTool.run(TIMEOUT, nbdinfo(), "--map", tcp + "/map")
                .assertSuccess()
                .stdout();
        List<String> extents = new ArrayList<>();
        for (String line : out.strip().split("\n")) {
            String[] f = line.trim().split("\\s+");
            extents.add(f[0] + " " + f[1] + " " + f[2]);
        }
        assertEquals(
                List.of(
                        "0 1048576 3",
                        "1048576 1048576 0",
                        "2097152 2097152 3",
                        "4194304 524288 0",
                        "4718592 3670016 3"),
                extents,
                out);
    }

    @Test
    void nbdinfoOverUnixSocket() throws Exception {
        String out = ExternalTool.run(TIMEOUT, nbdinfo(), "nbd+unix:///mem?socket=" + socket)
                .assertSuccess()
                .stdout();
        assertTrue(out.contains("export-size: 134217728"), out);
    }

    @Test
    void nioTransportServesTcpAndUnixSockets(@TempDir Path nioDir) throws Exception {
        Path nioSocket = nioDir.resolve("nio.sock");
        MemoryBlockDevice nioDevice = new MemoryBlockDevice(4L << 20);
        byte[] data = random(4 << 20, SEED + 7);
        nioDevice.write(0, ByteBuffer.wrap(data));
        try (NbdServer nio = new NbdServer(NbdServerConfig.builder()
                .listenTcp("127.0.0.1", 0)
                .listenUnix(nioSocket)
                .preferNativeTransport(false)
                .export(NbdExport.builder("n", nioDevice).build())
                .build())) {
            List<SocketAddress> bound = nio.start();
            int port = ((InetSocketAddress) bound.get(0)).getPort();
            String overTcp = ExternalTool.run(TIMEOUT, nbdinfo(), "nbd://127.0.0.1:" + port + "/n")
                    .assertSuccess()
                    .stdout();
            assertTrue(overTcp.contains("export-size: 4194304"), overTcp);
            String overUnix = ExternalTool.run(TIMEOUT, nbdinfo(), "nbd+unix:///n?socket=" + nioSocket)
                    .assertSuccess()
                    .stdout();
            assertTrue(overUnix.contains("export-size: 4194304"), overUnix);
            // Reads the device holds in memory are sent as views of it, through NIO's own writes.
            Path out = nioDir.resolve("nio-out.bin");
            ExternalTool.run(
                            TIMEOUT,
                            ExternalTool.require("nbdcopy", "libnbd-bin").toString(),
                            "nbd://127.0.0.1:" + port + "/n",
                            out.toString())
                    .assertSuccess();
            assertEquals(sha256(data), sha256(Files.readAllBytes(out)), "file after nbdcopy out over NIO");
        }
        assertFalse(Files.exists(nioSocket));
    }

    @Test
    void nbdcopyRoundTripsSixtyFourMib() throws Exception {
        String nbdcopy = ExternalTool.require("nbdcopy", "libnbd-bin").toString();
        byte[] data = random(64 << 20, SEED + 1);
        Path in = dir.resolve("copy-in.bin");
        Path out = dir.resolve("copy-out.bin");
        Files.write(in, data);
        ExternalTool.run(TIMEOUT, nbdcopy, "--flush", in.toString(), tcp + "/copy")
                .assertSuccess();
        byte[] onDevice = new byte[data.length];
        copyDevice.read(0, ByteBuffer.wrap(onDevice));
        assertEquals(sha256(data), sha256(onDevice), "device content after nbdcopy in");
        ExternalTool.run(TIMEOUT, nbdcopy, tcp + "/copy", out.toString()).assertSuccess();
        assertEquals(sha256(data), sha256(Files.readAllBytes(out)), "file after nbdcopy out");
        // The same through the unix socket, with several connections (CAN_MULTI_CONN).
        Path out2 = dir.resolve("copy-out2.bin");
        ExternalTool.run(
                        TIMEOUT,
                        nbdcopy,
                        "--connections=4",
                        "--requests=32",
                        "nbd+unix:///copy?socket=" + socket,
                        out2.toString())
                .assertSuccess();
        assertEquals(sha256(data), sha256(Files.readAllBytes(out2)));
    }

    @Test
    void qemuIoAtOddOffsetsLeavesNeighboursIntact() throws Exception {
        String qemuIo = ExternalTool.require("qemu-io", "qemu-utils").toString();
        List<String> cmd = new ArrayList<>(List.of(qemuIo, "-f", "raw", tcp + "/qemu"));
        String[] ops = {
            "write -P 0xab 1001 5003",
            "read -P 0xab 1001 5003",
            "write -z 70001 3001",
            "read -P 0 70001 3001",
            "discard 1048576 65536",
            "write -P 0xcd 2097151 2",
            "writev -P 0x11 3000001 100 200 300",
            "flush",
            "read -P 0xcd 2097151 2"
        };
        for (String op : ops) {
            cmd.add("-c");
            cmd.add(op);
        }
        ExternalTool.Result r = ExternalTool.run(TIMEOUT, cmd).assertSuccess();
        String out = r.stdout() + r.stderr();
        assertFalse(out.contains("Pattern verification failed"), out);
        assertFalse(out.toLowerCase().contains("error"), out);
        assertTrue(out.contains("wrote 5003/5003 bytes at offset 1001"), out);
        assertTrue(out.contains("read 5003/5003 bytes at offset 1001"), out);

        byte[] expected = java.util.Arrays.copyOf(qemuInitial, 4 << 20);
        java.util.Arrays.fill(expected, 1001, 1001 + 5003, (byte) 0xab);
        java.util.Arrays.fill(expected, 70001, 70001 + 3001, (byte) 0);
        java.util.Arrays.fill(expected, 2097151, 2097153, (byte) 0xcd);
        java.util.Arrays.fill(expected, 3000001, 3000001 + 600, (byte) 0x11);
        byte[] actual = new byte[4 << 20];
        qemuDevice.read(0, ByteBuffer.wrap(actual));
        // The discarded range is undefined by the protocol; everything else is exact.
        System.arraycopy(actual, 1048576, expected, 1048576, 65536);
        assertArrayEquals(expected, actual);
    }

    @Test
    void qemuImgConvertInAndOut() throws Exception {
        String qemuImg = ExternalTool.require("qemu-img", "qemu-utils").toString();
        Path source = dir.resolve("convert-src.img");
        byte[] data = new byte[32 << 20];
        Random random = new Random(SEED + 2);
        // Sparse source: data islands between zero runs, so qemu-img zeroes and writes.
        for (int at = 0; at < data.length; at += 3 << 20) {
            byte[] island = random(256 << 10, random.nextLong());
            System.arraycopy(island, 0, data, at, island.length);
        }
        Files.write(source, data);
        convertDevice.write(0, ByteBuffer.wrap(random(32 << 20, SEED + 3)));
        ExternalTool.run(
                        TIMEOUT,
                        qemuImg,
                        "convert",
                        "-n",
                        "-f",
                        "raw",
                        "-O",
                        "raw",
                        source.toString(),
                        tcp + "/convert")
                .assertSuccess();
        byte[] onDevice = new byte[data.length];
        convertDevice.read(0, ByteBuffer.wrap(onDevice));
        assertEquals(sha256(data), sha256(onDevice), "device after qemu-img convert into the export");
        ExternalTool.run(TIMEOUT, qemuImg, "compare", "-f", "raw", "-F", "raw", source.toString(), tcp + "/convert")
                .assertSuccess();
        Path back = dir.resolve("convert-back.img");
        ExternalTool.run(TIMEOUT, qemuImg, "convert", "-f", "raw", "-O", "raw", tcp + "/convert", back.toString())
                .assertSuccess();
        assertEquals(sha256(data), sha256(Files.readAllBytes(back)), "image converted out of the export");
    }

    @Test
    void nbdinfoAndNbdcopyOverTls(@TempDir Path certDir) throws Exception {
        TestCertificates certs = TestCertificates.create(certDir);
        MemoryBlockDevice secureDevice = new MemoryBlockDevice(16L << 20);
        try (NbdServer tls = new NbdServer(NbdServerConfig.builder()
                .listenTcp("127.0.0.1", 0)
                .tlsMode(TlsMode.REQUIRE)
                .tlsCertificate(certs.serverCert, certs.serverKey)
                .export(NbdExport.builder("secure", secureDevice).build())
                .build())) {
            int port = ((InetSocketAddress) tls.start().get(0)).getPort();
            String uri = "nbds://127.0.0.1:" + port + "/secure?tls-certificates=" + certDir;
            String out =
                    ExternalTool.run(TIMEOUT, nbdinfo(), uri).assertSuccess().stdout();
            assertTrue(out.contains("newstyle-fixed with TLS, using structured packets"), out);
            assertTrue(out.contains("export-size: 16777216"), out);
            ExternalTool.Result plain = ExternalTool.run(TIMEOUT, nbdinfo(), "nbd://127.0.0.1:" + port + "/secure");
            assertNotEquals(0, plain.exitCode(), "plain text is refused:\n" + plain.stdout());

            String nbdcopy = ExternalTool.require("nbdcopy", "libnbd-bin").toString();
            byte[] data = random(16 << 20, SEED + 4);
            Path in = dir.resolve("tls-in.bin");
            Path out2 = dir.resolve("tls-out.bin");
            Files.write(in, data);
            ExternalTool.run(TIMEOUT, nbdcopy, in.toString(), uri).assertSuccess();
            ExternalTool.run(TIMEOUT, nbdcopy, uri, out2.toString()).assertSuccess();
            assertEquals(sha256(data), sha256(Files.readAllBytes(out2)));
        }
    }

    private static String sha256(byte[] data) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    }
}
