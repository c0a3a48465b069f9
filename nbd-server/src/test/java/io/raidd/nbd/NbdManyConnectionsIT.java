package io.raidd.nbd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raidd.blockdev.MemoryBlockDevice;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A thousand simultaneous connections in every phase (silent, half-negotiated, transmitting), then
 * a fresh client. Needs about 2,100 file descriptors in this JVM (client and server ends); raise
 * {@code ulimit -n} if the default of 1024 applies.
 */
@ExtendWith(LeakCheck.class)
class NbdManyConnectionsIT {
    private static final int SILENT = 300;
    private static final int NEGOTIATING = 300;
    private static final int TRANSMITTING = 400;

    @Test
    void aThousandConnectionsThenAFreshClient() throws IOException {
        byte[] reference = new byte[64 * 1024];
        new Random(42).nextBytes(reference);
        MemoryBlockDevice device = new MemoryBlockDevice(16L << 20);
        device.write(0, ByteBuffer.wrap(reference));
        List<RawNbdClient> clients = new ArrayList<>();
        try (NbdServer server = new NbdServer(NbdServerConfig.builder()
                .listenTcp("127.0.0.1", 0)
                .export(NbdExport.builder("mem", device).build())
                .build())) {
            InetSocketAddress address = (InetSocketAddress) server.start().get(0);
            try {
                for (int i = 0; i < SILENT; i++) {
                    clients.add(RawNbdClient.connect(address));
                }
                for (int i = 0; i < NEGOTIATING; i++) {
                    clients.add(RawNbdClient.connect(address).handshake());
                }
                for (int i = 0; i < TRANSMITTING; i++) {
                    RawNbdClient c = RawNbdClient.connect(address).handshake();
                    c.go("mem");
                    clients.add(c);
                }
                int total = SILENT + NEGOTIATING + TRANSMITTING;
                Await.until(() -> server.connectionCount() == total, Duration.ofSeconds(30), total + " connections");
                assertEquals(TRANSMITTING, server.stats("mem").orElseThrow().activeConnections());

                try (RawNbdClient fresh = RawNbdClient.connect(address).handshake()) {
                    fresh.go("mem");
                    assertArrayEquals(reference, fresh.readSimple(1, 0, reference.length));
                }
                // Every transmitting connection still works, each with its own cookie.
                for (int i = SILENT + NEGOTIATING; i < total; i++) {
                    byte[] got = clients.get(i).readSimple(i, 4096, 4096);
                    assertArrayEquals(java.util.Arrays.copyOfRange(reference, 4096, 8192), got);
                }
            } finally {
                for (RawNbdClient c : clients) {
                    c.close();
                }
            }
            Await.until(() -> server.connectionCount() == 0, Duration.ofSeconds(30), "all connections to close");
            assertEquals(0, server.bufferedBytes());
        }
    }

    @Test
    void connectionsAboveTheLimitAreDroppedAndOthersStillServed() throws IOException {
        MemoryBlockDevice device = new MemoryBlockDevice(1 << 20);
        List<RawNbdClient> clients = new ArrayList<>();
        try (NbdServer server = new NbdServer(NbdServerConfig.builder()
                .listenTcp("127.0.0.1", 0)
                .maxConnections(50)
                .export(NbdExport.builder("mem", device).build())
                .build())) {
            InetSocketAddress address = (InetSocketAddress) server.start().get(0);
            try {
                for (int i = 0; i < 50; i++) {
                    RawNbdClient c = RawNbdClient.connect(address).handshake();
                    clients.add(c);
                }
                try (RawNbdClient over = RawNbdClient.connect(address)) {
                    assertTrue(over.awaitServerClose(), "the 51st connection is closed at once");
                }
                clients.remove(0).close();
                Await.until(() -> server.connectionCount() == 49, Duration.ofSeconds(10), "a free slot");
                try (RawNbdClient fresh = RawNbdClient.connect(address).handshake()) {
                    fresh.go("mem");
                    assertEquals(512, fresh.readSimple(1, 0, 512).length);
                }
            } finally {
                for (RawNbdClient c : clients) {
                    c.close();
                }
            }
        }
    }
}
