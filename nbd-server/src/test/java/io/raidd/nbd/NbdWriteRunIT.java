package io.raidd.nbd;

import static io.raidd.nbd.NbdErrno.EIO;
import static io.raidd.nbd.RequestDescriptor.FLAG_FUA;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.raidd.blockdev.MemoryBlockDevice;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Adjacent WRITEs waiting on one connection reach a device with an optimal write size as one
 * gathered write ({@link WriteRun}), each still answered on its own. A real server with one I/O
 * worker per connection, held busy by a gated request, so that what waits is known; a READ served
 * from memory on the event loop is the barrier that shows every request before it was queued.
 */
@ExtendWith(LeakCheck.class)
class NbdWriteRunIT {
    private static final long SIZE = 8L << 20;
    private static final int WINDOW = 64 * 1024;
    private static final long HELD_AT = 4L << 20;

    private TestDevice device;
    private NbdServer server;
    private InetSocketAddress address;

    @BeforeEach
    void start() throws IOException {
        device = new TestDevice(new MemoryBlockDevice(SIZE));
        device.optimalWriteBytes = WINDOW;
        device.cachedReads = true;
        server = new NbdServer(NbdServerConfig.builder()
                .listenTcp("127.0.0.1", 0)
                .maxExecutingRequestsPerConnection(1)
                .export(NbdExport.builder("mem", device).build())
                .build());
        address = (InetSocketAddress) server.start().get(0);
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private static byte[] random(int length, long seed) {
        byte[] b = new byte[length];
        new Random(seed).nextBytes(b);
        return b;
    }

    /** The replies to {@code count} requests, by cookie (they may come in any order). */
    private static Map<Long, Integer> errorsByCookie(RawNbdClient c, int count) throws IOException {
        Map<Long, Integer> out = new HashMap<>();
        for (int i = 0; i < count; i++) {
            RawNbdClient.SimpleReply r = c.readSimpleReply(0);
            out.put(r.cookie(), r.error());
        }
        return out;
    }

    @Test
    void adjacentWaitingWritesReachTheDeviceAsOneWriteInsideTheirWindow() throws Exception {
        byte[] data = random(3 * WINDOW, 1);
        TestDevice.Gate gate = device.gate(HELD_AT);
        try (RawNbdClient c = RawNbdClient.connect(address).handshake()) {
            c.go("mem");
            c.write(0, 100, HELD_AT, new byte[4096]);
            gate.awaitEntered();
            // Window [64K, 128K): three writes join, the fourth starts the next window, the fifth
            // is FUA and joins nothing, the sixth is not adjacent to anything waiting.
            int[][] writes = {
                {WINDOW, 16 * 1024}, {WINDOW + 16 * 1024, 16 * 1024}, {WINDOW + 32 * 1024, 32 * 1024},
                {2 * WINDOW, 8192}, {2 * WINDOW + 8192, 8192}, {3 * WINDOW - 4096, 4096}
            };
            for (int i = 0; i < writes.length; i++) {
                int at = writes[i][0];
                byte[] part = java.util.Arrays.copyOfRange(data, at - WINDOW, at - WINDOW + writes[i][1]);
                c.write(i == 4 ? FLAG_FUA : 0, i, at, part);
            }
            c.readSimple(99, 0, 4096); // served on the event loop: every write above is queued
            gate.open();
            Map<Long, Integer> errors = errorsByCookie(c, writes.length + 1);
            for (long cookie = 0; cookie < writes.length; cookie++) {
                assertEquals(0, errors.get(cookie), "write " + cookie);
            }
            assertEquals(0, errors.get(100L));
            assertEquals(List.of(new TestDevice.Gathered(WINDOW, 3)), device.gathered);
            assertEquals(1, device.durableWrites.get(), "the FUA write ran on its own");
            byte[] back = c.readSimple(7, WINDOW, WINDOW + 16 * 1024);
            assertArrayEquals(java.util.Arrays.copyOfRange(data, 0, WINDOW + 16 * 1024), back);
            assertArrayEquals(
                    java.util.Arrays.copyOfRange(data, 3 * WINDOW - 4096 - WINDOW, 2 * WINDOW),
                    c.readSimple(8, 3 * WINDOW - 4096, 4096));
        }
    }

    @Test
    void aStreamWriteIsHeldOnlyWhileOtherRequestsAreInFlight() throws Exception {
        try (RawNbdClient c = RawNbdClient.connect(address).handshake()) {
            c.go("mem");
            // One request at a time: each continues the stream, but nothing else is in flight to
            // wait for, so none may be held (a held one would never be answered).
            for (int i = 0; i < 4; i++) {
                c.write(0, i, i * 4096L, random(4096, i));
                assertEquals(0, c.readSimpleReply(0).error());
            }
            // A stream write behind a held request is plugged; the held request's completion
            // releases it even though no request ever completes its window.
            TestDevice.Gate gate = device.gate(WINDOW - 4096L);
            c.write(0, 10, WINDOW - 4096L, random(4096, 10));
            gate.awaitEntered();
            c.write(0, 11, WINDOW, random(16 * 1024, 11));
            // A refused request is answered on the event loop without touching any run: once its
            // reply is here, the stream write above was decoded while the held one still ran.
            assertEquals(
                    NbdErrno.EINVAL, c.command(0, RequestDescriptor.CMD_READ, 12, SIZE, 4096), "read past the end");
            gate.open();
            assertEquals(Map.of(10L, 0, 11L, 0), errorsByCookie(c, 2));
            assertEquals(List.of(), device.gathered);
            assertArrayEquals(random(16 * 1024, 11), c.readSimple(13, WINDOW, 16 * 1024));
        }
    }

    @Test
    void aHeldRunIsReleasedWhenItHoldsEverythingDecodedThatIsUnanswered() throws Exception {
        TestDevice.Gate gate = device.gate(WINDOW - 4096L);
        try (RawNbdClient c = RawNbdClient.connect(address).handshake()) {
            c.go("mem");
            c.write(0, 20, WINDOW - 4096L, random(4096, 20));
            gate.awaitEntered();
            c.write(0, 21, WINDOW, random(4096, 21)); // continues the stream: held behind the first
            byte[] third = random(4096, 22);
            c.write(0, 22, WINDOW + 4096L, third); // joins the held run
            // Long enough to be gathered as it arrives, so that the bytes sent so far are counted.
            byte[] last = random(512 * 1024, 23);
            c.request(0, RequestDescriptor.CMD_WRITE, 23, WINDOW + 8192L, last.length);
            c.sendRaw(java.util.Arrays.copyOf(last, 4096)); // in flight, but its payload is still coming
            Await.until(
                    () -> server.bufferedBytes() == 4096 + 4096 + 4096 + 4096,
                    Duration.ofSeconds(30),
                    "four writes in flight");
            gate.open();
            // The held run must not wait for a request the client has not finished sending.
            assertEquals(Map.of(20L, 0, 21L, 0, 22L, 0), errorsByCookie(c, 3));
            assertEquals(List.of(new TestDevice.Gathered(WINDOW, 2)), device.gathered);
            c.sendRaw(java.util.Arrays.copyOfRange(last, 4096, last.length));
            assertEquals(0, c.readSimpleReply(0).error());
            assertArrayEquals(third, c.readSimple(24, WINDOW + 4096L, 4096));
            assertArrayEquals(last, c.readSimple(25, WINDOW + 8192L, last.length));
        }
    }

    @Test
    void aRunThatFailsIsRetriedRequestByRequestSoOnlyTheFailingOneReportsIt() throws Exception {
        TestDevice.Gate gate = device.gate(HELD_AT);
        device.failWritesAt = 8192;
        try (RawNbdClient c = RawNbdClient.connect(address).handshake()) {
            c.go("mem");
            c.write(0, 100, HELD_AT, new byte[4096]);
            gate.awaitEntered();
            for (int i = 0; i < 4; i++) {
                c.write(0, i, i * 4096L, random(4096, i));
            }
            c.readSimple(99, HELD_AT + 65536, 4096);
            gate.open();
            Map<Long, Integer> errors = errorsByCookie(c, 5);
            assertEquals(Map.of(0L, 0, 1L, 0, 2L, EIO, 3L, 0, 100L, 0), errors);
            assertEquals(List.of(new TestDevice.Gathered(0, 4)), device.gathered);
            for (int i : new int[] {0, 1, 3}) {
                assertArrayEquals(random(4096, i), c.readSimple(10 + i, i * 4096L, 4096), "write " + i);
            }
        }
    }
}
