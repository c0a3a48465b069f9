package io.raidd.nbd;

import static io.raidd.nbd.NbdErrno.EINVAL;
import static io.raidd.nbd.NbdErrno.ENOSPC;
import static io.raidd.nbd.NbdErrno.EPERM;
import static io.raidd.nbd.OptionDescriptor.*;
import static io.raidd.nbd.RequestDescriptor.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raidd.blockdev.MemoryBlockDevice;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real server on an ephemeral port and a raw socket client that misbehaves in every way the
 * protocol allows and many it does not. After each test a fresh client must still connect and
 * read the reference data, and no request may still hold memory.
 */
@ExtendWith(LeakCheck.class)
class NbdProtocolEdgeIT {
    private static final long SIZE = 64L << 20;
    /** [0, 1 MiB) holds seeded reference data that no test overwrites. */
    private static final int REFERENCE_BYTES = 1 << 20;

    private static final long SEED = Long.getLong("nbd.test.seed", System.nanoTime());
    private static byte[] reference;
    private static TestDevice device;
    private static NbdServer server;
    private static InetSocketAddress address;

    @BeforeAll
    static void start() throws IOException {
        System.out.println("NbdProtocolEdgeIT seed " + SEED);
        reference = random(REFERENCE_BYTES, SEED);
        device = new TestDevice(new MemoryBlockDevice(SIZE));
        device.write(0, ByteBuffer.wrap(reference));
        server = new NbdServer(NbdServerConfig.builder()
                .listenTcp("127.0.0.1", 0)
                .defaultExport("mem")
                .export(NbdExport.builder("mem", device)
                        .description("edge cases")
                        .fastZero(true)
                        .build())
                .export(NbdExport.builder("ro", new MemoryBlockDevice(1 << 20))
                        .readOnly(true)
                        .build())
                .build());
        address = (InetSocketAddress) server.start().get(0);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @AfterEach
    void serverStillServesAFreshClient() throws IOException {
        try (RawNbdClient client = RawNbdClient.connect(address).handshake()) {
            client.go("mem");
            assertArrayEquals(reference, client.readSimple(42, 0, REFERENCE_BYTES));
            client.disconnect();
            assertTrue(client.awaitServerClose());
        }
        Await.until(() -> server.bufferedBytes() == 0, Duration.ofSeconds(10), "in-flight bytes to drain");
    }

    private static byte[] random(int length, long seed) {
        byte[] b = new byte[length];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static RawNbdClient structuredClient(boolean metaContext) throws IOException {
        RawNbdClient c = RawNbdClient.connect(address).handshake();
        c.structuredReplies();
        if (metaContext) {
            assertEquals(CommandExecutor.ALLOCATION_CONTEXT_ID, c.setMetaContext("mem", "base:allocation"));
        }
        c.go("mem");
        return c;
    }

    // ------------------------------------------------------------------ handshake

    @Test
    void garbageInsteadOfClientFlagsIsDropped() throws IOException {
        try (RawNbdClient c = RawNbdClient.connect(address)) {
            c.readGreeting();
            c.sendRaw(random(64, 1));
            assertTrue(c.awaitServerClose());
        }
    }

    @Test
    void unknownClientFlagsAreDropped() throws IOException {
        try (RawNbdClient c = RawNbdClient.connect(address)) {
            c.readGreeting();
            c.sendClientFlags(HandshakeDescriptor.CLIENT_FLAG_FIXED_NEWSTYLE | 1 << 5);
            assertTrue(c.awaitServerClose());
        }
    }

    @Test
    void badOptionMagicIsDropped() throws IOException {
        try (RawNbdClient c = RawNbdClient.connect(address).handshake()) {
            c.sendRaw(random(16, 2));
            assertTrue(c.awaitServerClose());
        }
    }

    @Test
    void unknownOptionsAreUnsupAndNegotiationContinues() throws IOException {
        try (RawNbdClient c = RawNbdClient.connect(address).handshake()) {
            for (int option : new int[] {0, 4, 11, 12, 1000, -1}) {
                assertEquals(
                        REP_ERR_UNSUP,
                        c.optionExpectingOne(option, random(option & 0xff, option))
                                .type());
            }
            c.go("mem");
            assertArrayEquals(java.util.Arrays.copyOf(reference, 4096), c.readSimple(1, 0, 4096));
        }
    }

    @Test
    void optionsWithDataWhereNoneIsAllowed() throws IOException {
        try (RawNbdClient c = RawNbdClient.connect(address).handshake()) {
            assertEquals(
                    REP_ERR_INVALID,
                    c.optionExpectingOne(OPT_LIST, new byte[] {1, 2}).type());
            assertEquals(
                    REP_ERR_INVALID,
                    c.optionExpectingOne(OPT_STRUCTURED_REPLY, new byte[] {1}).type());
            assertEquals(
                    REP_ERR_POLICY,
                    c.optionExpectingOne(OPT_STARTTLS, new byte[] {1}).type());
            assertEquals(3, c.option(OPT_LIST, new byte[0]).size());
            c.go("");
        }
    }

    @Test
    void truncatedOptionThenDisconnect() throws IOException {
        try (RawNbdClient c = RawNbdClient.connect(address).handshake()) {
            c.sendOptionHeader(OPT_GO, 100);
            c.sendRaw(new byte[10]);
        }
    }

    @Test
    void hugeOptionLengthIsSkippedWithoutBufferingThenRefused() throws IOException {
        try (RawNbdClient c = RawNbdClient.connect(address).handshake()) {
            long length = 16L << 20;
            c.sendOptionHeader(OPT_INFO, length);
            c.sendZeroes(length);
            RawNbdClient.OptionReply r = c.readOptionReply();
            assertEquals(REP_ERR_TOO_BIG, r.type());
            assertEquals(OPT_INFO, r.option());
            c.go("mem");
        }
        try (RawNbdClient c = RawNbdClient.connect(address).handshake()) {
            // Claims 4 GiB, sends a little, leaves.
            c.sendOptionHeader(OPT_SET_META_CONTEXT, 0xffff_fff0L);
            c.sendZeroes(1 << 20);
        }
    }

    @Test
    void setMetaContextBeforeStructuredRepliesIsInvalid() throws IOException {
        try (RawNbdClient c = RawNbdClient.connect(address).handshake()) {
            RawNbdClient.OptionReply r =
                    c.optionExpectingOne(OPT_SET_META_CONTEXT, RawNbdClient.metaContextData("mem", "base:allocation"));
            assertEquals(REP_ERR_INVALID, r.type());
            c.structuredReplies();
            assertEquals(CommandExecutor.ALLOCATION_CONTEXT_ID, c.setMetaContext("mem", "base:allocation"));
            c.go("mem");
            c.request(0, CMD_BLOCK_STATUS, 1, 0, 4096);
            List<RawNbdClient.Chunk> status = c.readStructuredReply(1);
            assertEquals(
                    StructuredReplyDescriptor.TYPE_BLOCK_STATUS, status.get(0).type());
        }
    }

    @Test
    void metaContextForAnotherExportDoesNotCarryOver() throws IOException {
        try (RawNbdClient c = RawNbdClient.connect(address).handshake()) {
            c.structuredReplies();
            c.setMetaContext("ro", "base:allocation");
            c.go("mem");
            assertEquals(EINVAL, c.commandAnyReply(0, CMD_BLOCK_STATUS, 1, 0, 4096));
        }
    }

    // ------------------------------------------------------------------ transmission errors

    @Test
    void requestsPastTheEnd() throws IOException {
        try (RawNbdClient c = RawNbdClient.connect(address).handshake()) {
            c.go("mem");
            c.request(0, CMD_READ, 1, SIZE - 512, 1024);
            assertEquals(EINVAL, c.readSimpleReply(1024).error());
            assertEquals(ENOSPC, c.writeAnyReply(0, 2, SIZE - 10, new byte[20]));
            assertEquals(EINVAL, c.command(0, CMD_TRIM, 3, SIZE, 512));
            assertEquals(ENOSPC, c.command(0, CMD_WRITE_ZEROES, 4, Long.MAX_VALUE, 512));
            assertArrayEquals(java.util.Arrays.copyOf(reference, 512), c.readSimple(5, 0, 512));
        }
        try (RawNbdClient c = structuredClient(true)) {
            assertEquals(EINVAL, c.commandAnyReply(0, CMD_READ, 1, SIZE, 1));
            assertEquals(EINVAL, c.commandAnyReply(0, CMD_BLOCK_STATUS, 2, SIZE - 512, 4096));
            assertEquals(ENOSPC, c.writeAnyReply(0, 3, SIZE, new byte[1]));
        }
    }

    @Test
    void zeroLengthReads() throws IOException {
        try (RawNbdClient c = RawNbdClient.connect(address).handshake()) {
            c.go("mem");
            assertEquals(0, c.readSimple(1, 100, 0).length);
            assertArrayEquals(java.util.Arrays.copyOf(reference, 16), c.readSimple(2, 0, 16));
        }
        try (RawNbdClient c = structuredClient(false)) {
            RawNbdClient.ReadResult r = c.readStructured(0, 3, 100, 0);
            assertEquals(0, r.errno());
            assertEquals(0, r.dataChunks());
        }
    }

    @Test
    void unknownCommandsAndInvalidFlags() throws IOException {
        try (RawNbdClient c = RawNbdClient.connect(address).handshake()) {
            c.go("mem");
            assertEquals(EINVAL, c.command(0, 9, 1, 0, 0));
            assertEquals(EINVAL, c.command(0, 0x1234, 2, 0, 4096));
            c.request(FLAG_DF, CMD_READ, 3, 0, 512);
            assertEquals(EINVAL, c.readSimpleReply(512).error(), "DF without structured replies");
            assertEquals(EINVAL, c.command(FLAG_REQ_ONE | FLAG_NO_HOLE, CMD_FLUSH, 4, 0, 0));
            assertEquals(EINVAL, c.command(1 << 9, CMD_TRIM, 5, 0, 512));
            assertEquals(EINVAL, c.command(0, CMD_BLOCK_STATUS, 6, 0, 512));
        }
    }

    @Test
    void readOnlyExportRefusesWrites() throws IOException {
        try (RawNbdClient c = RawNbdClient.connect(address).handshake()) {
            RawNbdClient.ExportInfo info = c.go("ro");
            assertTrue(info.has(TransmissionFlags.READ_ONLY));
            assertFalse(info.has(TransmissionFlags.SEND_TRIM));
            assertEquals(EPERM, c.writeAnyReply(0, 1, 0, new byte[512]));
            assertEquals(EPERM, c.command(0, CMD_TRIM, 2, 0, 512));
            assertEquals(EPERM, c.command(0, CMD_WRITE_ZEROES, 3, 0, 512));
            assertEquals(512, c.readSimple(4, 0, 512).length);
        }
    }

    @Test
    void dfReadIsOneChunkAndPlainReadSendsHoles() throws IOException {
        long base = 8L << 20;
        byte[] data = random(64 * 1024, 3);
        try (RawNbdClient c = structuredClient(true)) {
            assertEquals(0, c.writeAnyReply(0, 1, base + 128 * 1024, data));
            assertEquals(0, c.commandAnyReply(0, CMD_TRIM, 2, base, 128 * 1024));
            byte[] expected = new byte[512 * 1024];
            System.arraycopy(data, 0, expected, 128 * 1024, data.length);
            RawNbdClient.ReadResult df = c.readStructured(FLAG_DF, 3, base, expected.length);
            assertEquals(1, df.dataChunks());
            assertEquals(0, df.holeChunks());
            assertArrayEquals(expected, df.data());
            RawNbdClient.ReadResult sparse = c.readStructured(0, 4, base, expected.length);
            assertTrue(sparse.holeChunks() >= 2, "holes before and after the data");
            assertArrayEquals(expected, sparse.data());
        }
    }

    @Test
    void blockStatusWithReqOne() throws IOException {
        try (RawNbdClient c = structuredClient(true)) {
            c.request(FLAG_REQ_ONE, CMD_BLOCK_STATUS, 1, 0, 3 << 20);
            List<RawNbdClient.Chunk> chunks = c.readStructuredReply(1);
            assertEquals(1, chunks.size());
            ByteBuffer b = ByteBuffer.wrap(chunks.get(0).payload());
            assertEquals(CommandExecutor.ALLOCATION_CONTEXT_ID, b.getInt());
            assertEquals(REFERENCE_BYTES, b.getInt(), "the reference data is one allocated extent");
            assertEquals(0, b.getInt());
            assertFalse(b.hasRemaining(), "exactly one extent");
        }
    }

    // ------------------------------------------------------------------ disconnects and sizes

    @Test
    void badRequestMagicEndsTheSessionAfterPendingReplies() throws IOException {
        try (RawNbdClient c = RawNbdClient.connect(address).handshake()) {
            c.go("mem");
            c.request(0, CMD_READ, 1, 0, 512);
            c.sendRaw("this is not a request header".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            RawNbdClient.SimpleReply r = c.readSimpleReply(512);
            assertEquals(1, r.cookie(), "the valid request before the garbage is answered");
            assertArrayEquals(java.util.Arrays.copyOf(reference, 512), r.data());
            assertTrue(c.awaitServerClose(), "then the connection is dropped");
        }
    }

    @Test
    void disconnectMidHeader() throws IOException {
        try (RawNbdClient c = RawNbdClient.connect(address).handshake()) {
            c.go("mem");
            c.sendRaw(new byte[] {0x25, 0x60, (byte) 0x95, 0x13, 0, 0, 0, 1, 0, 0});
        }
    }

    @Test
    void disconnectMidPayload() throws IOException {
        try (RawNbdClient c = RawNbdClient.connect(address).handshake()) {
            c.go("mem");
            c.request(0, CMD_WRITE, 1, 4L << 20, 8 << 20);
            c.sendZeroes(1 << 20);
            // Counted as it arrives; the first piece ends at 1 MiB (the device has no stripe).
            Await.until(() -> server.bufferedBytes() <= 1 << 20, Duration.ofSeconds(10), "payload counted");
        }
    }

    @Test
    void thirtyTwoMibReadsAndWrites() throws IOException {
        byte[] big = random(32 << 20, 4);
        long at = 16L << 20;
        try (RawNbdClient c = RawNbdClient.connect(address).handshake()) {
            RawNbdClient.ExportInfo info = c.go("mem", INFO_BLOCK_SIZE);
            assertEquals(32 << 20, info.maximumBlock());
            c.write(0, 1, at, big);
            assertEquals(0, c.readSimpleReply(0).error());
            assertArrayEquals(big, c.readSimple(2, at, big.length));
        }
        try (RawNbdClient c = structuredClient(false)) {
            RawNbdClient.ReadResult r = c.readStructured(0, 3, at, big.length);
            assertArrayEquals(big, r.data());
        }
    }

    @Test
    void sixtyFourMibRequestsAreRefusedAndTheConnectionSurvives() throws IOException {
        try (RawNbdClient c = RawNbdClient.connect(address).handshake()) {
            c.go("mem");
            c.request(0, CMD_READ, 1, 0, 64 << 20);
            assertEquals(EINVAL, c.readSimpleReply(64 << 20).error());
            int writesBefore = device.writes.get();
            c.request(0, CMD_WRITE, 2, 0, 64 << 20);
            c.sendZeroes(64 << 20);
            assertEquals(EINVAL, c.readSimpleReply(0).error());
            assertEquals(writesBefore, device.writes.get(), "nothing written");
            assertArrayEquals(java.util.Arrays.copyOf(reference, 4096), c.readSimple(3, 0, 4096));
        }
    }

    // ------------------------------------------------------------------ concurrency

    @Test
    void manyRequestsInFlightCompleteOutOfOrderWithCookiesEchoed() throws Exception {
        long slowAt = 20L << 20;
        TestDevice.Gate gate = device.gate(slowAt);
        Random random = new Random(SEED + 5);
        try (RawNbdClient c = RawNbdClient.connect(address).handshake()) {
            c.go("mem");
            long slowCookie = random.nextLong();
            c.request(0, CMD_READ, slowCookie, slowAt, 4096);
            gate.awaitEntered();
            Map<Long, Integer> expectedOffsets = new HashMap<>();
            for (int i = 0; i < 100; i++) {
                long cookie = random.nextLong();
                int offset = random.nextInt(REFERENCE_BYTES / 512 - 8) * 512;
                expectedOffsets.put(cookie, offset);
                c.request(0, CMD_READ, cookie, offset, 4096);
            }
            Set<Long> seen = new HashSet<>();
            for (int i = 0; i < 100; i++) {
                RawNbdClient.SimpleReply r = c.readSimpleReply(4096);
                assertTrue(expectedOffsets.containsKey(r.cookie()), "unknown cookie " + r.cookie());
                assertTrue(seen.add(r.cookie()), "duplicate reply");
                int offset = expectedOffsets.get(r.cookie());
                assertArrayEquals(java.util.Arrays.copyOfRange(reference, offset, offset + 4096), r.data());
            }
            gate.open();
            RawNbdClient.SimpleReply slow = c.readSimpleReply(4096);
            assertEquals(slowCookie, slow.cookie(), "the held request is answered last");
        }
    }

    @Test
    void discWaitsForRequestsInFlight() throws Exception {
        long slowAt = 24L << 20;
        byte[] data = random(8192, 6);
        TestDevice.Gate gate = device.gate(slowAt);
        try (RawNbdClient c = RawNbdClient.connect(address).handshake()) {
            c.go("mem");
            c.write(0, 1, slowAt, data);
            gate.awaitEntered();
            c.request(0, CMD_READ, 2, 0, 512);
            c.disconnect();
            RawNbdClient.SimpleReply read = c.readSimpleReply(512);
            assertEquals(2, read.cookie());
            gate.open();
            RawNbdClient.SimpleReply write = c.readSimpleReply(0);
            assertEquals(1, write.cookie());
            assertEquals(0, write.error());
            assertTrue(c.awaitServerClose());
        }
        try (RawNbdClient c = RawNbdClient.connect(address).handshake()) {
            c.go("mem");
            assertArrayEquals(data, c.readSimple(3, slowAt, data.length), "the write finished before the close");
        }
    }

    @Test
    void clientThatDoesNotReadRepliesIsThrottled() throws IOException {
        int requests = 300;
        try (RawNbdClient c = RawNbdClient.connect(address).handshake()) {
            c.go("mem");
            for (int i = 0; i < requests; i++) {
                c.request(0, CMD_READ, i, 0, 1 << 20);
            }
            long limit = server.config().maxReplyBytesPerConnection();
            NbdExportStats stats = server.stats("mem").orElseThrow();
            long answeredBefore = stats.requests();
            Await.until(() -> server.bufferedBytes() > 0, Duration.ofSeconds(10), "replies to back up");
            for (int i = 0; i < 50; i++) {
                assertTrue(server.bufferedBytes() <= limit, "reply bytes within the per-connection limit");
            }
            assertTrue(stats.requests() - answeredBefore < requests, "the server stopped reading requests");
            Set<Long> cookies = new HashSet<>();
            for (int i = 0; i < requests; i++) {
                RawNbdClient.SimpleReply r = c.readSimpleReply(1 << 20);
                assertTrue(cookies.add(r.cookie()));
                assertArrayEquals(reference, r.data());
                assertTrue(server.bufferedBytes() <= limit);
            }
            assertEquals(requests, cookies.size());
        }
    }

    // ------------------------------------------------------------------ lifecycle

    @Test
    void removingAnExportDrainsItsSessions() throws Exception {
        server.addExport(
                NbdExport.builder("tmp", new MemoryBlockDevice(1 << 20)).build());
        try (RawNbdClient c = RawNbdClient.connect(address).handshake()) {
            c.go("tmp");
            assertEquals(4096, c.readSimple(1, 0, 4096).length);
            assertEquals(1, server.stats("tmp").orElseThrow().activeConnections());
            CompletableFuture<Void> removed = server.removeExport("tmp");
            removed.get(10, TimeUnit.SECONDS);
            assertTrue(c.awaitServerClose());
        }
        try (RawNbdClient c = RawNbdClient.connect(address).handshake()) {
            assertEquals(
                    REP_ERR_UNKNOWN,
                    c.optionExpectingOne(OPT_GO, RawNbdClient.infoData("tmp")).type());
            assertEquals(2, c.option(OPT_LIST, new byte[0]).size() - 1);
        }
    }

    @Test
    void closingTheServerLetsInFlightRequestsFinish() throws Exception {
        TestDevice slow = new TestDevice(new MemoryBlockDevice(1 << 20));
        NbdServer other = new NbdServer(NbdServerConfig.builder()
                .listenTcp("127.0.0.1", 0)
                .export(NbdExport.builder("slow", slow).build())
                .build());
        InetSocketAddress otherAddress = (InetSocketAddress) other.start().get(0);
        TestDevice.Gate gate = slow.gate(4096);
        try (RawNbdClient c = RawNbdClient.connect(otherAddress).handshake()) {
            c.go("slow");
            c.request(0, CMD_READ, 77, 4096, 4096);
            gate.awaitEntered();
            CompletableFuture<Void> closed = CompletableFuture.runAsync(other::close);
            try (RawNbdClient late = RawNbdClient.connect(otherAddress)) {
                assertTrue(late.awaitServerClose(), "no new connections while closing");
            } catch (java.net.SocketException refusedOrReset) {
                // also fine: the listener is already gone (refused), or is closing while the
                // connection is made (reset during connect, seen once in CI-like runs)
            }
            assertFalse(closed.isDone(), "close waits for the held request");
            gate.open();
            assertEquals(77, c.readSimpleReply(4096).cookie());
            assertTrue(c.awaitServerClose());
            closed.get(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void closingTheServerDoesNotWaitForAClientStillNegotiating() throws Exception {
        NbdServer other = new NbdServer(NbdServerConfig.builder()
                .listenTcp("127.0.0.1", 0)
                .export(NbdExport.builder("m", new MemoryBlockDevice(1 << 20)).build())
                .handshakeTimeout(Duration.ofMinutes(10))
                .build());
        InetSocketAddress otherAddress = (InetSocketAddress) other.start().get(0);
        try (RawNbdClient idle = RawNbdClient.connect(otherAddress)) {
            Await.until(() -> other.connectionCount() == 1, Duration.ofSeconds(30), "the idle client is accepted");
            CompletableFuture<Void> closed = CompletableFuture.runAsync(other::close);
            assertTrue(idle.awaitServerClose(), "the negotiating client is disconnected");
            closed.get(60, TimeUnit.SECONDS);
        }
    }

    // ------------------------------------------------------------------ TLS

    @Test
    void requiredTlsRefusesPlainClientsAndServesTlsOnes(@TempDir Path dir) throws Exception {
        TestCertificates certs = TestCertificates.create(dir);
        byte[] data = random(1 << 20, 7);
        MemoryBlockDevice secure = new MemoryBlockDevice(4 << 20);
        secure.write(0, ByteBuffer.wrap(data));
        try (NbdServer tls = new NbdServer(NbdServerConfig.builder()
                .listenTcp("127.0.0.1", 0)
                .tlsMode(TlsMode.REQUIRE)
                .tlsCertificate(certs.serverCert, certs.serverKey)
                .export(NbdExport.builder("secure", secure).build())
                .build())) {
            InetSocketAddress tlsAddress = (InetSocketAddress) tls.start().get(0);
            try (RawNbdClient c = RawNbdClient.connect(tlsAddress).handshake()) {
                assertEquals(
                        REP_ERR_TLS_REQD,
                        c.optionExpectingOne(OPT_LIST, new byte[0]).type());
                assertEquals(
                        REP_ERR_TLS_REQD,
                        c.optionExpectingOne(OPT_GO, RawNbdClient.infoData("secure"))
                                .type());
                assertEquals(
                        REP_ERR_TLS_REQD,
                        c.optionExpectingOne(OPT_STRUCTURED_REPLY, new byte[0]).type());
                assertEquals(
                        REP_ERR_TLS_REQD, c.optionExpectingOne(42, new byte[0]).type());
                c.sendOption(OPT_EXPORT_NAME, "secure".getBytes());
                assertTrue(c.awaitServerClose(), "EXPORT_NAME without TLS ends the session");
            }
            try (RawNbdClient c = RawNbdClient.connect(tlsAddress).handshake()) {
                RawNbdClient.OptionReply ack = c.optionExpectingOne(OPT_STARTTLS, new byte[0]);
                assertEquals(REP_ACK, ack.type());
                c.sendRaw(random(300, 8));
                assertTrue(c.awaitServerClose(), "garbage instead of a TLS handshake");
            }
            try (RawNbdClient c = RawNbdClient.connect(tlsAddress).handshake()) {
                c.startTls(certs.clientContext());
                assertEquals(
                        REP_ERR_INVALID,
                        c.optionExpectingOne(OPT_STARTTLS, new byte[0]).type());
                assertEquals(2, c.option(OPT_LIST, new byte[0]).size());
                c.structuredReplies();
                c.go("secure");
                assertArrayEquals(data, c.readStructured(0, 1, 0, data.length).data());
                c.disconnect();
                assertTrue(c.awaitServerClose());
            }
        }
    }
}
