package io.raidd.raid.volume;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raidd.blockdev.FaultInjectingBlockDevice;
import io.raidd.blockdev.MemoryBlockDevice;
import io.raidd.blockdev.RescuableCall;
import io.raidd.raid.layout.Geometry;
import io.raidd.raid.member.MemberState;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A member that hangs and never comes back: every request that was waiting on it is answered from
 * redundancy within the member timeout plus a margin, whichever thread is stuck in it, no stripe
 * lock or write gate stays behind the stuck call, the late result of the stuck call never lands in a
 * buffer that was handed back, and closing the volume does not wait for the hung member.
 */
class HungMemberTest {
    private static final int CHUNK = 16 * 1024;
    private static final long MEMBER_BYTES = 64L * CHUNK;
    private static final long DATA_OFFSET = 8192;
    private static final Duration TIMEOUT = Duration.ofMillis(400);
    /** Answer within the member timeout plus this. */
    private static final long MARGIN_MS = 1500;

    private final List<FaultInjectingBlockDevice> devices = new ArrayList<>();

    private RaidVolume volume(int level, int disks) {
        Geometry g = Geometry.of(level, Geometry.defaultLayout(level), CHUNK, disks, MEMBER_BYTES);
        RaidVolume.Builder b = RaidVolume.builder("t", g).config(RaidVolumeConfig.DEFAULT.withMemberTimeout(TIMEOUT));
        for (int slot = 0; slot < disks; slot++) {
            FaultInjectingBlockDevice d =
                    new FaultInjectingBlockDevice(new MemoryBlockDevice(DATA_OFFSET + MEMBER_BYTES));
            devices.add(d);
            b.member(slot, "d" + slot, d, DATA_OFFSET);
        }
        return b.build();
    }

    /** Runs a rescuable call on its own thread; the future completes when the outcome is delivered. */
    private static <T> CompletableFuture<T> rescuable(ExecutorService threads, RaidVolume v, RescuableCall0<T> body) {
        CompletableFuture<T> outcome = new CompletableFuture<>();
        threads.execute(() -> v.runRescuable(new RescuableCall<T>() {
            @Override
            public T run() throws Exception {
                return body.run();
            }

            @Override
            public void done(T value, Throwable failure) {
                if (failure != null) {
                    outcome.completeExceptionally(failure);
                } else {
                    outcome.complete(value);
                }
            }
        }));
        return outcome;
    }

    interface RescuableCall0<T> {
        T run() throws Exception;
    }

    @Test
    void requestsStuckInAHungMemberAreAnsweredFromRedundancyAndNothingWaitsForIt() throws Exception {
        for (int level : new int[] {1, 5, 6, 10}) {
            devices.clear();
            int disks = level == 6 ? 5 : level == 1 ? 2 : 4;
            ExecutorService threads = Executors.newCachedThreadPool();
            RaidVolume v = volume(level, disks);
            byte[] data = new byte[(int) v.sizeBytes()];
            new Random(level).nextBytes(data);
            v.write(0, ByteBuffer.wrap(data));
            devices.get(0).hang();
            long start = System.nanoTime();
            // Many small requests at once: reads and writes, all touching the hung member somewhere.
            List<CompletableFuture<?>> outcomes = new ArrayList<>();
            byte[] update = new byte[4 * CHUNK];
            new Random(level + 100).nextBytes(update);
            for (int i = 0; i < 16; i++) {
                long offset = (long) i * CHUNK;
                if (i % 2 == 0) {
                    outcomes.add(rescuable(threads, v, () -> {
                        ByteBuffer b = ByteBuffer.allocate(CHUNK);
                        v.read(offset, b);
                        return b.array();
                    }));
                } else {
                    outcomes.add(rescuable(threads, v, () -> {
                        v.write(offset, ByteBuffer.wrap(update, (int) (offset % (3 * CHUNK)), CHUNK));
                        return null;
                    }));
                }
            }
            for (int i = 0; i < outcomes.size(); i++) {
                Object value = outcomes.get(i).get(TIMEOUT.toMillis() + MARGIN_MS, TimeUnit.MILLISECONDS);
                if (i % 2 == 0) {
                    long offset = (long) i * CHUNK;
                    assertArrayEquals(
                            Arrays.copyOfRange(data, (int) offset, (int) offset + CHUNK),
                            (byte[]) value,
                            "RAID-" + level + " read " + i);
                } else {
                    long offset = (long) i * CHUNK;
                    System.arraycopy(update, (int) (offset % (3 * CHUNK)), data, (int) offset, CHUNK);
                }
            }
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertTrue(devices.get(0).hungCalls() > 0, "RAID-" + level + ": threads are still stuck in the member");
            assertEquals(MemberState.FAULTY, v.members().get(0).state(), "RAID-" + level);
            // Nothing stayed behind the stuck calls: every stripe can be written and read again.
            v.write(0, ByteBuffer.wrap(data));
            ByteBuffer all = ByteBuffer.allocate(data.length);
            v.read(0, all);
            assertArrayEquals(data, all.array(), "RAID-" + level);
            // Closing does not wait for the hung member.
            long closeStart = System.nanoTime();
            v.close();
            long closeMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - closeStart);
            assertTrue(closeMs < 3000, "RAID-" + level + ": close took " + closeMs + " ms");
            System.out.println("RAID-" + level + ": 16 requests on a hung member answered in " + ms
                    + " ms (member timeout " + TIMEOUT.toMillis() + " ms); close " + closeMs + " ms");
            devices.get(0).release();
            threads.shutdown();
            assertTrue(threads.awaitTermination(10, TimeUnit.SECONDS), "stuck threads returned once released");
        }
    }

    @Test
    void theLateReadOfAnAbandonedCallNeverLandsInTheCallersBuffer() throws Exception {
        RaidVolume v = volume(1, 2);
        byte[] data = new byte[CHUNK];
        new Random(7).nextBytes(data);
        v.write(0, ByteBuffer.wrap(data));
        devices.get(0).hang(); // chunk 0 is read from copy 0 first
        ByteBuffer buffer = ByteBuffer.allocateDirect(CHUNK);
        CountDownLatch returned = new CountDownLatch(1);
        CompletableFuture<Void> answered = new CompletableFuture<>();
        Thread caller = new Thread(() -> {
            v.runRescuable(new RescuableCall<Void>() {
                @Override
                public Void run() throws Exception {
                    v.read(0, buffer.duplicate().clear());
                    return null;
                }

                @Override
                public void done(Void value, Throwable failure) {
                    if (failure != null) {
                        answered.completeExceptionally(failure);
                    } else {
                        answered.complete(null);
                    }
                }
            });
            returned.countDown();
        });
        caller.start();
        answered.get(TIMEOUT.toMillis() + MARGIN_MS, TimeUnit.MILLISECONDS);
        byte[] got = new byte[CHUNK];
        buffer.duplicate().get(got);
        assertArrayEquals(data, got, "answered from the other copy");
        assertEquals(1, returned.getCount(), "the caller's own thread is still stuck");
        // The caller hands the buffer on (here: fills it with something else); then the stuck read returns.
        byte[] reused = new byte[CHUNK];
        Arrays.fill(reused, (byte) 0x5a);
        buffer.duplicate().put(reused);
        devices.get(0).release();
        assertTrue(returned.await(10, TimeUnit.SECONDS));
        buffer.duplicate().get(got);
        assertArrayEquals(reused, got, "the late read did not land in the reused buffer");
        v.close();
    }

    @Test
    void callsThatCannotBeRescuedNeverRunInlineAndTimeOut() throws Exception {
        RaidVolume v = volume(5, 3);
        byte[] data = new byte[3 * CHUNK];
        new Random(8).nextBytes(data);
        v.write(0, ByteBuffer.wrap(data));
        devices.get(1).hang();
        long start = System.nanoTime();
        ByteBuffer b = ByteBuffer.allocate(data.length);
        v.read(0, b); // a plain call: waits with a deadline, then reconstructs
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertArrayEquals(data, b.array());
        assertTrue(ms < TIMEOUT.toMillis() + MARGIN_MS, ms + " ms");
        assertEquals(MemberState.FAULTY, v.members().get(1).state());
        assertNull(v.members().get(1).failureReason() == null ? null : null);
        v.close();
        devices.get(1).release();
    }
}
