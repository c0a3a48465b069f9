package io.raidd.nbd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raidd.blockdev.BlockDevice;
import io.raidd.blockdev.MemoryBlockDevice;
import io.raidd.blockdev.RescuableCall;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * A device whose calls get stuck for good on the server's I/O threads, but which answers each call
 * from another thread after a while ({@link BlockDevice#runRescuable}), as a RAID volume does for a
 * hung member: every request is answered, stuck I/O threads neither starve the others (the pool
 * grows past them) nor hold up the server's shutdown.
 */
class NbdRescueIT {
    private static final long SIZE = 8L << 20;
    private static final long RESCUE_AFTER_MS = 100;

    /** Memory whose calls on I/O threads block until the test ends; a rescue runs them unblocked. */
    static final class StuckDevice implements BlockDevice {
        final MemoryBlockDevice inner = new MemoryBlockDevice(SIZE);
        final CountDownLatch unstick = new CountDownLatch(1);
        final AtomicBoolean stuck = new AtomicBoolean();
        final AtomicInteger stuckCalls = new AtomicInteger();
        final AtomicInteger rescues = new AtomicInteger();
        final ScheduledExecutorService rescuers = Executors.newScheduledThreadPool(4);
        private final ThreadLocal<Boolean> rescuing = ThreadLocal.withInitial(() -> false);

        private void maybeStick() {
            if (stuck.get() && !rescuing.get()) {
                stuckCalls.incrementAndGet();
                try {
                    unstick.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }

        @Override
        public <T> void runRescuable(RescuableCall<T> call) {
            AtomicBoolean delivered = new AtomicBoolean();
            rescuers.schedule(
                    () -> {
                        if (delivered.compareAndSet(false, true)) {
                            rescues.incrementAndGet();
                            rescuing.set(true);
                            T value = null;
                            Throwable failure = null;
                            try {
                                value = call.run();
                            } catch (Throwable t) {
                                failure = t;
                            }
                            call.done(value, failure);
                        }
                    },
                    RESCUE_AFTER_MS,
                    TimeUnit.MILLISECONDS);
            T value = null;
            Throwable failure = null;
            try {
                value = call.run();
            } catch (Throwable t) {
                failure = t;
            }
            if (delivered.compareAndSet(false, true)) {
                call.done(value, failure);
            } else {
                call.discard(value);
            }
        }

        @Override
        public long sizeBytes() {
            return SIZE;
        }

        @Override
        public int logicalBlockSizeBytes() {
            return 512;
        }

        @Override
        public void read(long offsetBytes, ByteBuffer dst) throws IOException {
            maybeStick();
            inner.read(offsetBytes, dst);
        }

        @Override
        public void write(long offsetBytes, ByteBuffer src) throws IOException {
            maybeStick();
            inner.write(offsetBytes, src);
        }

        @Override
        public void flush() throws IOException {
            maybeStick();
        }

        @Override
        public void discard(long offsetBytes, long lengthBytes) throws IOException {
            maybeStick();
            inner.discard(offsetBytes, lengthBytes);
        }

        @Override
        public void writeZeroes(long offsetBytes, long lengthBytes) throws IOException {
            maybeStick();
            inner.writeZeroes(offsetBytes, lengthBytes);
        }

        @Override
        public void close() {
            rescuers.shutdownNow();
        }
    }

    @Test
    void requestsStuckInTheDeviceAreAnsweredAndTheServerStillStopsPromptly() throws Exception {
        StuckDevice device = new StuckDevice();
        byte[] data = new byte[(int) SIZE];
        new java.util.Random(3).nextBytes(data);
        device.inner.write(0, ByteBuffer.wrap(data));
        // Two I/O threads for the whole server and two per connection: twelve stuck calls would
        // leave nothing to run anything else unless the pool grows past the stuck threads.
        NbdServer server = new NbdServer(NbdServerConfig.builder()
                .listenTcp("127.0.0.1", 0)
                .ioThreads(2)
                .maxExecutingRequestsPerConnection(2)
                .shutdownTimeout(Duration.ofSeconds(20))
                .export(NbdExport.builder("mem", device).build())
                .build());
        InetSocketAddress address = (InetSocketAddress) server.start().get(0);
        try (RawNbdClient c = RawNbdClient.connect(address).handshake()) {
            c.go("mem");
            device.stuck.set(true);
            long start = System.nanoTime();
            for (int i = 0; i < 6; i++) {
                c.request(0, RequestDescriptor.CMD_READ, i, i * 65536L, 4096);
            }
            Map<Long, byte[]> reads = new HashMap<>();
            for (int i = 0; i < 6; i++) {
                RawNbdClient.SimpleReply r = c.readSimpleReply(4096);
                assertEquals(0, r.error());
                reads.put(r.cookie(), r.data());
            }
            for (long i = 0; i < 6; i++) {
                assertArrayEquals(Arrays.copyOfRange(data, (int) (i * 65536), (int) (i * 65536) + 4096), reads.get(i));
            }
            byte[] update = new byte[4096];
            Arrays.fill(update, (byte) 7);
            for (int i = 0; i < 6; i++) {
                c.write(0, 100 + i, (i + 10) * 65536L, update);
            }
            for (int i = 0; i < 6; i++) {
                assertEquals(0, c.readSimpleReply(0).error());
            }
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertTrue(device.stuckCalls.get() >= 6, "calls stuck: " + device.stuckCalls.get());
            assertTrue(device.rescues.get() >= 12, "rescues: " + device.rescues.get());
            System.out.println("12 requests whose calls got stuck answered in " + ms + " ms; " + device.stuckCalls.get()
                    + " I/O threads stuck");
            assertTrue(ms < 10_000, ms + " ms");
        }
        long stop = System.nanoTime();
        server.close();
        long stopMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - stop);
        assertTrue(stopMs < 5_000, "close took " + stopMs + " ms with threads stuck in the device");
        device.unstick.countDown();
        device.close();
    }
}
