package io.raidd.raid.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raidd.blockdev.FaultInjectingBlockDevice;
import io.raidd.blockdev.MemoryBlockDevice;
import io.raidd.raid.event.ArrayEvent;
import io.raidd.raid.event.EventType;
import io.raidd.raid.layout.Geometry;
import io.raidd.raid.member.Member;
import io.raidd.raid.member.MemberState;
import io.raidd.raid.volume.RaidVolume;
import io.raidd.raid.volume.RaidVolumeConfig;
import io.raidd.testimages.Lanes;
import io.raidd.testimages.MdOracle;
import io.raidd.testimages.ReferenceVolume;
import io.raidd.testimages.Seeds;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Rebuilds onto new members while the volume is written, for every level and layout with
 * redundancy and every member (every pair for RAID-6, rebuilt in one pass): afterwards the volume
 * reads back what was written (a model), every member is active, and md's own arithmetic, computed
 * from the raw member bytes by {@link MdOracle} and not by the engine, finds every stripe
 * consistent.
 */
class RebuildAgentTest {
    private static final long DATA_OFFSET = 8192;

    record Config(int level, int layout, int disks, int chunkBytes) {
        @Override
        public String toString() {
            return "raid" + level + " " + Geometry.layoutName(level, layout) + " n=" + disks + " chunk="
                    + chunkBytes / 1024 + "K";
        }

        long memberBytes() {
            return 32L * chunkBytes + 1536;
        }
    }

    static Stream<Object[]> cases() {
        List<Config> configs = new ArrayList<>();
        configs.add(new Config(1, 0, 2, 4096));
        configs.add(new Config(1, 0, 3, 4096));
        configs.add(new Config(4, 0, 4, 4096));
        for (int layout = 0; layout <= 5; layout++) {
            configs.add(new Config(5, layout, 4, 8192));
            configs.add(new Config(6, layout, 5, 4096));
        }
        configs.add(new Config(6, 2, 6, 16384));
        for (String l : new String[] {"n2", "f2", "o2", "n3"}) {
            configs.add(new Config(10, Geometry.parseLayout(10, l), 4, 4096));
        }
        configs.add(new Config(10, Geometry.parseLayout(10, "n2"), 3, 8192));
        List<Object[]> out = new ArrayList<>();
        for (Config c : configs) {
            Geometry g = geometry(c);
            for (int a = 0; a < c.disks(); a++) {
                out.add(new Object[] {c, new int[] {a}});
            }
            if (g.tolerableFailures() >= 2) {
                for (int a = 0; a < c.disks(); a++) {
                    out.add(new Object[] {c, new int[] {a, (a + 2) % c.disks()}});
                }
            }
        }
        return out.stream();
    }

    static Geometry geometry(Config c) {
        return Geometry.of(c.level(), c.layout(), c.chunkBytes(), c.disks(), c.memberBytes());
    }

    @ParameterizedTest(name = "{0} rebuilding {1}")
    @MethodSource("cases")
    void rebuildWhileWritingLeavesEveryMemberAsMdSays(Config c, int[] failing) throws Exception {
        long seed = Seeds.seed("RebuildAgentTest " + c + " " + java.util.Arrays.toString(failing));
        Geometry g = geometry(c);
        List<FaultInjectingBlockDevice> devices = new ArrayList<>();
        List<ArrayEvent> events = Collections.synchronizedList(new ArrayList<>());
        RaidVolume.Builder b = RaidVolume.builder("t", g)
                .config(RaidVolumeConfig.DEFAULT.withMemberTimeout(Duration.ofSeconds(20)))
                .events(events::add);
        for (int slot = 0; slot < c.disks(); slot++) {
            FaultInjectingBlockDevice d =
                    new FaultInjectingBlockDevice(new MemoryBlockDevice(c.memberBytes() + DATA_OFFSET));
            devices.add(d);
            b.member(slot, "m" + slot, d, DATA_OFFSET);
        }
        AtomicLong now = new AtomicLong();
        try (RaidVolume volume = b.metadata(new Recording(DATA_OFFSET)).build()) {
            ReferenceVolume model = new ReferenceVolume(volume.sizeBytes());
            Random random = new Random(seed);
            // Data in the first half only: the second half stays holes, which the rebuild records
            // without reading.
            writeRandom(volume, model, random, 0, volume.sizeBytes() / 2, 12);
            for (int slot : failing) {
                devices.get(slot).failStop();
                volume.fail(slot, "test");
            }
            List<FaultInjectingBlockDevice> spares = new ArrayList<>();
            int[] lowestFirst = failing.clone();
            java.util.Arrays.sort(lowestFirst);
            for (int i = 0; i < failing.length; i++) {
                FaultInjectingBlockDevice spare =
                        new FaultInjectingBlockDevice(new MemoryBlockDevice(c.memberBytes() + DATA_OFFSET));
                spares.add(spare);
                Member m = volume.lifecycle().add("spare" + i, spare);
                assertEquals(MemberState.REBUILDING, m.state(), "a member added to a degraded volume rebuilds at once");
                assertEquals(lowestFirst[i], m.slot(), "it takes the lowest slot without a member in sync");
            }
            VolumeAgents agents = new VolumeAgents(volume, RateLimits.DEFAULT, now::get);
            // A writer runs while the rebuild goes on, behind and ahead of its cursor.
            AtomicBoolean stop = new AtomicBoolean();
            ExecutorService writer = Executors.newSingleThreadExecutor();
            Lanes lanes = new Lanes(volume.sizeBytes(), 3 * 1024 + 7, 1);
            Future<?> writes = writer.submit(() -> {
                Random r = new Random(seed ^ 77);
                while (!stop.get()) {
                    long[] range = lanes.randomRange(r, 0);
                    byte[] data = new byte[(int) range[1]];
                    r.nextBytes(data);
                    volume.write(range[0], ByteBuffer.wrap(data));
                    synchronized (model) {
                        model.write(range[0], data);
                    }
                }
                return null;
            });
            int steps = 0;
            while (agents.runner().busy() && steps++ < 100_000) {
                agents.runner().runOnce();
                now.addAndGet(100_000_000L);
            }
            stop.set(true);
            writes.get(60, TimeUnit.SECONDS);
            writer.shutdown();
            assertFalse(agents.runner().busy(), "rebuild finished");
            for (int slot = 0; slot < c.disks(); slot++) {
                assertEquals(MemberState.ACTIVE, volume.members().get(slot).state(), "slot " + slot);
            }
            assertEquals(0, volume.failedMembers());
            model.verifyAll(volume, 5 * 1024 + 3, c + " after rebuild");
            List<MdOracle.Member> raw = new ArrayList<>();
            for (int slot = 0; slot < c.disks(); slot++) {
                Member m = volume.members().get(slot);
                raw.add(new MdOracle.Member(m.device(), m.dataOffsetBytes()));
            }
            if (c.level() != 10 || ((c.layout() >> 8) & 0xff) == 1) {
                assertEquals(
                        List.of(),
                        MdOracle.mismatches(raw, c.level(), c.layout(), g.chunkBytes(), g.memberUsedBytes(), 5),
                        c + ": members as md computes them");
            }
            List<EventType> types = new ArrayList<>();
            for (ArrayEvent e : events) {
                types.add(e.type());
            }
            assertTrue(types.contains(EventType.RebuildStarted), types.toString());
            assertTrue(types.contains(EventType.RebuildFinished), types.toString());
            assertTrue(types.contains(EventType.SpareActive), types.toString());
            agents.close();
        }
    }

    private static void writeRandom(
            RaidVolume volume, ReferenceVolume model, Random random, long from, long to, int count)
            throws java.io.IOException {
        for (int i = 0; i < count; i++) {
            long offset = from + random.nextLong(to - from);
            int length = (int) Math.min(to - offset, 1 + random.nextInt(64 * 1024));
            byte[] data = new byte[length];
            random.nextBytes(data);
            volume.write(offset, ByteBuffer.wrap(data));
            model.write(offset, data);
        }
    }

    /** Metadata that records nothing and places new members at the test's data offset. */
    static final class Recording implements io.raidd.raid.member.ArrayMetadata {
        private final long dataOffset;
        final List<Long> checkpoints = Collections.synchronizedList(new ArrayList<>());

        Recording(long dataOffset) {
            this.dataOffset = dataOffset;
        }

        @Override
        public void markDirty() {}

        @Override
        public void markClean() {}

        @Override
        public void memberFailed(Member member, String reason) {}

        @Override
        public long planNewMember(String name, io.raidd.blockdev.BlockDevice device) {
            return dataOffset;
        }

        @Override
        public void memberAdded(Member member) {}

        @Override
        public void rebuildStarted(Member member) {}

        @Override
        public void recoveryCheckpoint(Member member, long recoveredBytes) {
            checkpoints.add(recoveredBytes);
        }

        @Override
        public void memberInSync(Member member, Member retired) {}

        @Override
        public void memberRemoved(Member member) {}
    }
}
