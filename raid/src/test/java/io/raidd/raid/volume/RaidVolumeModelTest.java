package io.raidd.raid.volume;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raidd.blockdev.FaultInjectingBlockDevice;
import io.raidd.blockdev.MemoryBlockDevice;
import io.raidd.raid.layout.Geometry;
import io.raidd.raid.member.MemberState;
import io.raidd.testimages.Lanes;
import io.raidd.testimages.ReferenceVolume;
import io.raidd.testimages.Seeds;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Model-based tests of {@link RaidVolume}: random reads and writes of random sizes and offsets
 * (unaligned, chunk- and stripe-crossing) from several threads, checked against a plain byte-array
 * model, healthy and with members failing in the middle of the workload: every single member, and
 * every pair for RAID-6.
 */
class RaidVolumeModelTest {
    private static final int THREADS = 4;
    private static final int OPS_PER_THREAD = 150;

    record Config(int level, int layout, int disks, int chunkBytes) {
        @Override
        public String toString() {
            return "raid" + level + " " + Geometry.layoutName(level, layout) + " n=" + disks + " chunk="
                    + chunkBytes / 1024 + "K";
        }

        long memberBytes() {
            return 24L * chunkBytes + 1536; // not a chunk multiple: the geometry must round
        }
    }

    static Stream<Config> configs() {
        List<Config> out = new ArrayList<>();
        for (int n : new int[] {2, 3}) {
            out.add(new Config(0, 0, n, 4096));
            out.add(new Config(1, 0, n, 4096 * 4));
        }
        for (int layout = 0; layout <= 5; layout++) {
            for (int n = 3; n <= 5; n++) {
                out.add(new Config(5, layout, n, n == 4 ? 16384 : 4096));
            }
            for (int n = 4; n <= 6; n++) {
                out.add(new Config(6, layout, n, n == 5 ? 16384 : 4096));
            }
        }
        out.add(new Config(6, Geometry.defaultLayout(6), 8, 4096));
        out.add(new Config(4, 0, 4, 4096));
        out.add(new Config(10, Geometry.parseLayout(10, "n2"), 2, 4096));
        out.add(new Config(10, Geometry.parseLayout(10, "n2"), 3, 4096));
        out.add(new Config(10, Geometry.parseLayout(10, "n2"), 4, 8192));
        out.add(new Config(10, Geometry.parseLayout(10, "n3"), 4, 4096));
        out.add(new Config(10, Geometry.parseLayout(10, "f2"), 3, 4096));
        out.add(new Config(10, Geometry.parseLayout(10, "f2"), 4, 4096));
        out.add(new Config(10, Geometry.parseLayout(10, "o2"), 3, 4096));
        out.add(new Config(10, Geometry.parseLayout(10, "f3"), 4, 4096));
        return out.stream();
    }

    /** Every set of members the level can lose: none, each single one, each pair for RAID-6. */
    static Stream<Object[]> failureCases() {
        return configs().flatMap(c -> {
            Geometry g = geometry(c);
            List<Object[]> cases = new ArrayList<>();
            cases.add(new Object[] {c, new int[0]});
            if (g.tolerableFailures() >= 1) {
                for (int a = 0; a < c.disks(); a++) {
                    cases.add(new Object[] {c, new int[] {a}});
                }
            }
            if (g.tolerableFailures() >= 2) {
                for (int a = 0; a < c.disks(); a++) {
                    for (int b = a + 1; b < c.disks(); b++) {
                        cases.add(new Object[] {c, new int[] {a, b}});
                    }
                }
            }
            return cases.stream();
        });
    }

    static Geometry geometry(Config c) {
        return Geometry.of(c.level(), c.layout(), c.chunkBytes(), c.disks(), c.memberBytes());
    }

    @ParameterizedTest(name = "{0} failing {1}")
    @MethodSource("failureCases")
    void randomWorkloadMatchesModel(Config c, int[] failing) throws Exception {
        long seed = Seeds.seed("RaidVolumeModelTest " + c + " failing " + java.util.Arrays.toString(failing));
        Geometry g = geometry(c);
        List<FaultInjectingBlockDevice> devices = new ArrayList<>();
        RaidVolume.Builder b = RaidVolume.builder("model", g)
                .config(RaidVolumeConfig.DEFAULT.withMemberTimeout(Duration.ofSeconds(20)));
        for (int slot = 0; slot < c.disks(); slot++) {
            FaultInjectingBlockDevice d = new FaultInjectingBlockDevice(new MemoryBlockDevice(c.memberBytes() + 8192));
            devices.add(d);
            b.member(slot, "m" + slot, d, 8192);
        }
        RecordingMetadata metadata = new RecordingMetadata();
        try (RaidVolume volume = b.metadata(metadata).build()) {
            ReferenceVolume model = new ReferenceVolume(volume.sizeBytes());
            Lanes lanes = new Lanes(volume.sizeBytes(), 3 * 1024 + 7, THREADS);
            CountDownLatch[] failAfter = new CountDownLatch[failing.length];
            ExecutorService pool = Executors.newFixedThreadPool(THREADS);
            try {
                List<Future<?>> futures = new ArrayList<>();
                for (int t = 0; t < THREADS; t++) {
                    int thread = t;
                    Random random = new Random(seed + t);
                    futures.add(pool.submit(() -> {
                        for (int op = 0; op < OPS_PER_THREAD; op++) {
                            if (thread == 0) {
                                for (int f = 0; f < failing.length; f++) {
                                    if (op == (f + 1) * OPS_PER_THREAD / (failing.length + 1)) {
                                        devices.get(failing[f]).failStop();
                                    }
                                }
                            }
                            long[] range = lanes.randomRange(random, thread);
                            // Half the operations run as the NBD server runs them: rescuable, with
                            // member I/O on this thread; the others wait on members' threads.
                            boolean rescuable = random.nextBoolean();
                            int o = op;
                            if (random.nextInt(10) < 7) {
                                byte[] data = new byte[(int) range[1]];
                                random.nextBytes(data);
                                boolean gathered = random.nextInt(3) == 0;
                                long seedForCuts = random.nextLong();
                                run(volume, rescuable, () -> {
                                    if (gathered) {
                                        writeGathered(volume, range[0], data, new Random(seedForCuts));
                                    } else {
                                        volume.write(range[0], ByteBuffer.wrap(data));
                                    }
                                });
                                model.write(range[0], data);
                            } else {
                                run(
                                        volume,
                                        rescuable,
                                        () -> model.verify(
                                                volume, range[0], (int) range[1], "thread " + thread + " op " + o));
                            }
                        }
                        return null;
                    }));
                }
                for (Future<?> f : futures) {
                    f.get(120, TimeUnit.SECONDS);
                }
            } finally {
                pool.shutdownNow();
            }
            // Large single-threaded writes across stripes, direct buffers, and zeroing.
            Random random = new Random(seed ^ 0x5eed);
            long stripeBytes = (long) c.chunkBytes() * Math.max(1, c.disks());
            for (int op = 0; op < 30; op++) {
                long offset = random.nextLong(volume.sizeBytes());
                int length = (int) Math.min(volume.sizeBytes() - offset, 1 + random.nextInt((int) (3 * stripeBytes)));
                if (op % 5 == 4) {
                    volume.writeZeroes(offset, length);
                    model.zero(offset, length);
                } else if (op % 5 == 3) {
                    byte[] data = new byte[length];
                    random.nextBytes(data);
                    writeGathered(volume, offset, data, random);
                    model.write(offset, data);
                } else {
                    byte[] data = new byte[length];
                    random.nextBytes(data);
                    ByteBuffer direct = ByteBuffer.allocateDirect(length);
                    direct.put(data).flip();
                    volume.write(offset, direct);
                    assertEquals(0, direct.remaining(), "write consumes the buffer");
                    model.write(offset, data);
                }
            }
            volume.flush();
            model.verifyAll(volume, 7 * 1024 + 3, c + " final");
            assertEquals(failing.length, volume.failedMembers(), "failed members");
            for (int slot : failing) {
                assertEquals(MemberState.FAULTY, volume.members().get(slot).state());
                assertTrue(metadata.failed.contains(slot), "metadata told about slot " + slot);
            }
        }
    }

    interface Body {
        void run() throws Exception;
    }

    /** Runs {@code body} directly, or through {@link RaidVolume#runRescuable} and rethrows its failure. */
    static void run(RaidVolume volume, boolean rescuable, Body body) throws Exception {
        if (!rescuable) {
            body.run();
            return;
        }
        Throwable[] failure = new Throwable[1];
        volume.runRescuable(new io.raidd.blockdev.RescuableCall<Void>() {
            @Override
            public Void run() throws Exception {
                body.run();
                return null;
            }

            @Override
            public void done(Void value, Throwable f) {
                failure[0] = f;
            }
        });
        if (failure[0] instanceof Exception e) {
            throw e;
        }
        if (failure[0] instanceof Error e) {
            throw e;
        }
    }

    /**
     * Writes {@code data} through {@link RaidVolume#writeGathered}, cut at random places into heap
     * and direct buffers (some empty, some not starting at position 0), and checks that every
     * buffer was consumed.
     */
    static void writeGathered(RaidVolume volume, long offset, byte[] data, Random random) throws java.io.IOException {
        List<ByteBuffer> parts = new ArrayList<>();
        int pos = 0;
        int cuts = random.nextInt(5);
        while (true) {
            int n = cuts-- > 0 ? random.nextInt(data.length - pos + 1) : data.length - pos;
            ByteBuffer b;
            if (random.nextBoolean()) {
                b = ByteBuffer.allocateDirect(n + 3);
                b.position(3);
                b.put(data, pos, n).position(3);
            } else {
                byte[] backing = new byte[n + 5];
                System.arraycopy(data, pos, backing, 5, n);
                b = ByteBuffer.wrap(backing, 5, n);
            }
            parts.add(b);
            pos += n;
            if (pos == data.length && cuts < 0) {
                break;
            }
        }
        volume.writeGathered(offset, parts);
        for (ByteBuffer b : parts) {
            assertEquals(0, b.remaining(), "a gathered write consumes every buffer");
        }
    }

    /** Records what the volume asked of the metadata. */
    static final class RecordingMetadata implements io.raidd.raid.member.ArrayMetadata {
        final List<Integer> failed = java.util.Collections.synchronizedList(new ArrayList<>());
        volatile int dirtyMarks;
        volatile int cleanMarks;

        @Override
        public void markDirty() {
            dirtyMarks++;
        }

        @Override
        public void markClean() {
            cleanMarks++;
        }

        @Override
        public void memberFailed(io.raidd.raid.member.Member member, String reason) {
            failed.add(member.slot());
        }

        @Override
        public long planNewMember(String name, io.raidd.blockdev.BlockDevice device) {
            return 8192;
        }

        @Override
        public void memberAdded(io.raidd.raid.member.Member member) {}

        @Override
        public void rebuildStarted(io.raidd.raid.member.Member member) {}

        @Override
        public void recoveryCheckpoint(io.raidd.raid.member.Member member, long recoveredBytes) {}

        @Override
        public void memberInSync(io.raidd.raid.member.Member member, io.raidd.raid.member.Member retired) {}

        @Override
        public void memberRemoved(io.raidd.raid.member.Member member) {}
    }
}
