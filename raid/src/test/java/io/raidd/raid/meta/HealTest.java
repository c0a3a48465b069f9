package io.raidd.raid.meta;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raidd.blockdev.FaultInjectingBlockDevice;
import io.raidd.blockdev.MemoryBlockDevice;
import io.raidd.raid.agent.RateLimits;
import io.raidd.raid.agent.VolumeAgents;
import io.raidd.raid.event.ArrayEvent;
import io.raidd.raid.event.EventType;
import io.raidd.raid.layout.Geometry;
import io.raidd.raid.md.ArrayFormatter;
import io.raidd.raid.md.AssembledArray;
import io.raidd.raid.md.Assembler;
import io.raidd.raid.md.NamedDevice;
import io.raidd.raid.md.Superblock;
import io.raidd.raid.md.SuperblockCodec;
import io.raidd.raid.md.SuperblockDescriptor;
import io.raidd.raid.member.Member;
import io.raidd.raid.member.MemberState;
import io.raidd.raid.volume.RaidVolume;
import io.raidd.raid.volume.RaidVolumeConfig;
import io.raidd.testimages.MdOracle;
import io.raidd.testimages.Unclosable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Healing through the md metadata: rebuilds that resume from their superblock checkpoint after a
 * crash, hot replace that never lowers redundancy, spares, what the member commands refuse, a
 * survivor that cannot be read during a rebuild, and a sparse rebuild that reads nothing from holes.
 */
class HealTest {
    private static final long MEMBER_BYTES = 24L << 20;
    private static final int CHUNK = 64 * 1024;

    private final AtomicLong now = new AtomicLong();
    private final List<ArrayEvent> events = Collections.synchronizedList(new ArrayList<>());

    private static List<NamedDevice> create(int level, int n) throws IOException {
        List<NamedDevice> m = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            m.add(new NamedDevice(
                    "m" + i, new FaultInjectingBlockDevice(new Unclosable(new MemoryBlockDevice(MEMBER_BYTES)))));
        }
        ArrayFormatter.format(
                m, new ArrayFormatter.Spec(level, Geometry.defaultLayout(level), CHUNK, "vol", null, true, false));
        return m;
    }

    private RaidVolume open(List<NamedDevice> members, boolean force) throws IOException {
        AssembledArray a = Assembler.assembleOne(members, force);
        return ArrayOpener.open(a, CONFIG, events::add);
    }

    /** Marked clean again 1 ms after the last write (so a "crash" of an idle array leaves it clean). */
    private static final RaidVolumeConfig CONFIG =
            RaidVolumeConfig.DEFAULT.withSafeModeDelay(java.time.Duration.ofMillis(1));

    private static void idle(RaidVolume v) throws IOException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!v.tryMarkClean()) {
            assertTrue(System.nanoTime() < deadline, "the volume became idle and clean");
            Thread.onSpinWait();
        }
    }

    private static byte[] random(int length, long seed) {
        byte[] b = new byte[length];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static byte[] read(RaidVolume v, long offset, int length) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(length);
        v.read(offset, b);
        return b.array();
    }

    private static void drive(VolumeAgents agents, AtomicLong clock, int maxSteps) {
        for (int i = 0; i < maxSteps && agents.runner().busy(); i++) {
            agents.runner().runOnce();
            clock.addAndGet(500_000_000L);
        }
    }

    private static List<String> oracle(RaidVolume v) throws IOException {
        List<MdOracle.Member> raw = new ArrayList<>();
        for (Member m : v.members()) {
            raw.add(new MdOracle.Member(m.device(), m.dataOffsetBytes()));
        }
        Geometry g = v.geometry();
        return MdOracle.mismatches(raw, g.level(), g.layoutCode(), g.chunkBytes(), g.memberUsedBytes(), 5);
    }

    private static NamedDevice fresh(String name) {
        return new NamedDevice(
                name, new FaultInjectingBlockDevice(new Unclosable(new MemoryBlockDevice(MEMBER_BYTES))));
    }

    @Test
    void aRebuildResumesFromItsCheckpointAfterACrash() throws IOException {
        List<NamedDevice> m = create(5, 4);
        byte[] data;
        NamedDevice spare = fresh("spare");
        long resumedFrom;
        {
            RaidVolume v = open(m, false);
            data = random((int) v.sizeBytes(), 1);
            v.write(0, ByteBuffer.wrap(data));
            idle(v);
            v.fail(2, "test");
            v.lifecycle().add(spare.name(), spare.device());
            VolumeAgents agents = new VolumeAgents(v, RateLimits.DEFAULT, now::get);
            // Rebuild part of the way, checkpointing as it goes, then "crash": nothing is closed.
            for (int i = 0; i < 3; i++) {
                agents.runner().runOnce();
                now.addAndGet(3_000_000_000L);
            }
            assertTrue(agents.runner().busy(), "not finished yet");
        }
        Superblock sb = SuperblockCodec.read(spare.device());
        assertEquals(2, sb.role());
        assertTrue((sb.featureMap() & SuperblockDescriptor.FEATURE_RECOVERY_OFFSET) != 0);
        resumedFrom = sb.recoveryOffsetSectors() * 512;
        assertTrue(resumedFrom > 0, "checkpointed progress");
        assertTrue(resumedFrom < m.get(0).device().sizeBytes(), "not done");
        // Reassemble from every superblock, the old faulty member included: it is left out.
        List<NamedDevice> all = new ArrayList<>(m);
        all.add(spare);
        AssembledArray again = Assembler.assembleOne(all, false);
        assertTrue(again.clean(), "a rebuild does not mark the array dirty");
        assertEquals(List.of(2), again.missingSlots());
        assertEquals(resumedFrom, again.slots().get(2).orElseThrow().recoveredBytes());
        try (RaidVolume v = ArrayOpener.open(again, CONFIG, events::add)) {
            assertEquals(MemberState.REBUILDING, v.members().get(2).state());
            assertEquals(resumedFrom, v.members().get(2).recoveredBytes());
            assertArrayEquals(data, read(v, 0, data.length), "reads while rebuilding");
            try (VolumeAgents agents = new VolumeAgents(v, RateLimits.DEFAULT, now::get)) {
                drive(agents, now, 10_000);
            }
            assertEquals(MemberState.ACTIVE, v.members().get(2).state());
            assertArrayEquals(data, read(v, 0, data.length));
            assertEquals(List.of(), oracle(v));
        }
        AssembledArray healed = Assembler.assembleOne(all, false);
        assertFalse(healed.degraded());
        Superblock after = SuperblockCodec.read(spare.device());
        assertEquals(0, after.featureMap() & SuperblockDescriptor.FEATURE_RECOVERY_OFFSET);
        assertEquals("AAAA", after.arrayState());
    }

    @Test
    void hotReplaceKeepsRedundancyEvenWhenAnotherMemberFailsMidway() throws IOException {
        List<NamedDevice> m = create(5, 4);
        NamedDevice replacement = fresh("new");
        try (RaidVolume v = open(m, false)) {
            byte[] data = random((int) v.sizeBytes(), 2);
            v.write(0, ByteBuffer.wrap(data));
            Member old = v.members().get(1);
            Member r = v.lifecycle().replace(old, replacement.name(), replacement.device());
            assertEquals(MemberState.REBUILDING, r.state());
            assertEquals(1, r.slot());
            assertEquals(0, v.failedMembers(), "the replaced member keeps serving");
            try (VolumeAgents agents = new VolumeAgents(v, RateLimits.DEFAULT, now::get)) {
                agents.runner().runOnce();
                agents.runner().runOnce();
                // Another member fails in the middle: the old one still serves slot 1, so no data is lost.
                ((FaultInjectingBlockDevice) m.get(3).device()).failStop();
                v.fail(3, "test");
                assertArrayEquals(data, read(v, 0, data.length));
                drive(agents, now, 10_000);
            }
            assertEquals(r, v.members().get(1), "the replacement took the slot");
            assertEquals(MemberState.ACTIVE, r.state());
            assertEquals(MemberState.FAULTY, old.state(), "the old member left the array");
            assertArrayEquals(data, read(v, 0, data.length));
            assertTrue(types().contains(EventType.ReplaceStarted), types().toString());
            assertTrue(types().contains(EventType.ReplaceFinished), types().toString());
        }
        Superblock sb = SuperblockCodec.read(replacement.device());
        assertEquals(1, sb.role());
        assertEquals(0, sb.featureMap() & SuperblockDescriptor.FEATURE_REPLACEMENT);
    }

    /**
     * A stripe operation that decided from the roster before a hot replace finished may still read
     * and write the member being replaced: it must stay usable until the stripes are drained. (CI
     * caught a client write failing with EIO when the retired member was failed at once: the write's
     * read of it failed and, another member being faulty, nothing could reconstruct the stripe.)
     */
    @Test
    void aReplacedMemberServesOperationsThatStartedBeforeTheSwapUntilDrained() throws IOException {
        List<NamedDevice> m = create(5, 4);
        NamedDevice replacement = fresh("new");
        try (RaidVolume v = open(m, false)) {
            Member old = v.members().get(1);
            Member r = v.lifecycle().replace(old, replacement.name(), replacement.device());
            io.raidd.raid.member.Roster before = v.lifecycle().roster();
            List<String> inDrain = new ArrayList<>();
            v.lifecycle().markInSync(r, () -> {
                io.raidd.raid.member.IoBatch batch = new io.raidd.raid.member.IoBatch();
                batch.readInto(before.primary(1), 0, ByteBuffer.allocate(4096));
                batch.write(before.primary(1), 4096, ByteBuffer.allocate(4096));
                try {
                    for (io.raidd.raid.member.IoBatch.Op op : batch.await(10_000_000_000L)) {
                        inDrain.add(op.describe());
                    }
                } catch (IOException e) {
                    inDrain.add(e.toString());
                }
                inDrain.add("state " + old.state().label());
            });
            assertEquals(List.of("state active"), inDrain, "the old member worked until drained");
            assertEquals(MemberState.FAULTY, old.state(), "then it left");
            assertEquals(r, v.lifecycle().roster().primary(1));
        }
    }

    @Test
    void aSpareWaitsAndTakesOverWhenAMemberFails() throws IOException {
        List<NamedDevice> m = create(6, 5);
        NamedDevice spare = fresh("spare");
        try (RaidVolume v = open(m, false)) {
            byte[] data = random((int) v.sizeBytes(), 3);
            v.write(0, ByteBuffer.wrap(data));
            Member s = v.lifecycle().add(spare.name(), spare.device());
            assertEquals(MemberState.SPARE, s.state(), "a complete volume keeps it as a spare");
            assertEquals(-1, s.slot());
            try (VolumeAgents agents = new VolumeAgents(v, RateLimits.DEFAULT, now::get)) {
                assertFalse(agents.runner().busy());
                v.fail(4, "test");
                assertEquals(MemberState.REBUILDING, s.state());
                assertEquals(4, s.slot());
                assertTrue(agents.runner().busy(), "the rebuild was queued");
                drive(agents, now, 10_000);
            }
            assertEquals(MemberState.ACTIVE, s.state());
            assertEquals(List.of(), oracle(v));
        }
        AssembledArray a =
                Assembler.assembleOne(new ArrayList<>(List.of(m.get(0), m.get(1), m.get(2), m.get(3), spare)), false);
        assertFalse(a.degraded());
    }

    @Test
    void refusedCommandsChangeNothing() throws IOException {
        List<NamedDevice> m = create(5, 3);
        List<NamedDevice> other = create(5, 3);
        try (RaidVolume v = open(m, false)) {
            IllegalArgumentException e;
            e = assertThrows(
                    IllegalArgumentException.class,
                    () -> v.lifecycle().remove(v.members().get(0)));
            assertTrue(e.getMessage().contains("removing it would lose data"), e.getMessage());
            v.fail(1, "test");
            long afterFail = SuperblockCodec.read(m.get(0).device()).events();
            e = assertThrows(
                    IllegalArgumentException.class,
                    () -> v.lifecycle().failByOperator(v.members().get(0)));
            assertTrue(e.getMessage().contains("would lose data"), e.getMessage());
            e = assertThrows(
                    IllegalArgumentException.class,
                    () -> v.lifecycle().add("small", new MemoryBlockDevice(MEMBER_BYTES / 2)));
            assertTrue(e.getMessage().contains("too small"), e.getMessage());
            e = assertThrows(
                    IllegalArgumentException.class,
                    () -> v.lifecycle().add("foreign", other.get(0).device()));
            assertTrue(e.getMessage().contains("belongs to array"), e.getMessage());
            e = assertThrows(
                    IllegalArgumentException.class,
                    () -> v.lifecycle()
                            .replace(v.members().get(0), "own", m.get(2).device()));
            assertTrue(e.getMessage().contains("already a member"), e.getMessage());
            assertEquals(afterFail, SuperblockCodec.read(m.get(0).device()).events(), "nothing was written");
            assertEquals(MemberState.ACTIVE, v.members().get(0).state());
            // A faulty member can be removed; its slot is then missing.
            String what = v.lifecycle().remove(v.members().get(1));
            assertTrue(what.contains("removed"), what);
            assertEquals(MemberState.MISSING, v.members().get(1).state());
        }
    }

    @Test
    void aSurvivorThatCannotReadDuringARaid6RebuildIsWorkedAround() throws IOException {
        List<NamedDevice> m = create(6, 5);
        NamedDevice spare = fresh("spare");
        try (RaidVolume v = open(m, false)) {
            byte[] data = random((int) v.sizeBytes(), 4);
            v.write(0, ByteBuffer.wrap(data));
            v.fail(0, "test");
            long offset = v.members().get(2).dataOffsetBytes() + 5L * CHUNK;
            ((FaultInjectingBlockDevice) m.get(2).device()).failReads(offset, 3 * CHUNK);
            v.lifecycle().add(spare.name(), spare.device());
            try (VolumeAgents agents = new VolumeAgents(v, RateLimits.DEFAULT, now::get)) {
                drive(agents, now, 10_000);
            }
            assertEquals(MemberState.ACTIVE, v.members().get(0).state());
            assertEquals(MemberState.ACTIVE, v.members().get(2).state(), "a read error does not fail a member");
            assertTrue(v.members().get(2).correctedReads() > 0, "its unreadable blocks were rewritten");
            assertEquals(List.of(), v.lostRanges());
            ((FaultInjectingBlockDevice) m.get(2).device()).clearErrors();
            assertArrayEquals(data, read(v, 0, data.length));
            assertEquals(List.of(), oracle(v));
        }
    }

    @Test
    void aStripeRaid5CannotReconstructIsReportedAndReadsOfItFail() throws IOException {
        List<NamedDevice> m = create(5, 3);
        NamedDevice spare = fresh("spare");
        try (RaidVolume v = open(m, false)) {
            byte[] data = random((int) v.sizeBytes(), 5);
            v.write(0, ByteBuffer.wrap(data));
            v.fail(0, "test");
            long offset = v.members().get(1).dataOffsetBytes() + 7L * CHUNK + 4096;
            ((FaultInjectingBlockDevice) m.get(1).device()).failReads(offset, 512);
            v.lifecycle().add(spare.name(), spare.device());
            try (VolumeAgents agents = new VolumeAgents(v, RateLimits.DEFAULT, now::get)) {
                drive(agents, now, 10_000);
            }
            assertEquals(MemberState.ACTIVE, v.members().get(0).state(), "the rebuild went on");
            assertEquals(1, v.lostRanges().size());
            long[] lost = v.lostRanges().get(0);
            assertEquals(7L * 2 * CHUNK, lost[0]);
            assertEquals(2L * CHUNK, lost[1]);
            assertTrue(types().contains(EventType.DataLost));
            IOException e = assertThrows(IOException.class, () -> read(v, lost[0] + 100, 10));
            assertTrue(e.getMessage().contains("lost"), e.getMessage());
            assertArrayEquals(
                    java.util.Arrays.copyOf(data, (int) lost[0]), read(v, 0, (int) lost[0]), "the rest reads fine");
            // Writing the stripe again makes it whole.
            v.write(lost[0], ByteBuffer.wrap(data, (int) lost[0], (int) lost[1]));
            assertEquals(List.of(), v.lostRanges());
        }
    }

    @Test
    void aSparseRebuildReadsNothingFromHoles() throws IOException {
        List<NamedDevice> m = create(6, 8);
        NamedDevice spare = fresh("spare");
        try (RaidVolume v = open(m, false)) {
            byte[] data = random(3 * CHUNK * 6 + 100, 6);
            v.write(CHUNK * 6L * 40, ByteBuffer.wrap(data));
            v.fail(3, "test");
            FaultInjectingBlockDevice[] survivors = new FaultInjectingBlockDevice[8];
            long readsBefore = 0;
            for (int i = 0; i < 8; i++) {
                survivors[i] = (FaultInjectingBlockDevice) m.get(i).device();
                readsBefore += survivors[i].reads();
            }
            v.lifecycle().add(spare.name(), spare.device());
            try (VolumeAgents agents = new VolumeAgents(v, RateLimits.DEFAULT, now::get)) {
                drive(agents, now, 10_000);
            }
            long reads = -readsBefore;
            for (FaultInjectingBlockDevice d : survivors) {
                reads += d.reads();
            }
            // Only the stripes that hold data (4 of them, 7 survivors each) were read.
            assertTrue(reads <= 4 * 7, "reads: " + reads);
            assertEquals(MemberState.ACTIVE, v.members().get(3).state());
            assertArrayEquals(data, read(v, CHUNK * 6L * 40, data.length));
            assertEquals(List.of(), oracle(v));
        }
    }

    private List<EventType> types() {
        List<EventType> out = new ArrayList<>();
        for (ArrayEvent e : events) {
            out.add(e.type());
        }
        return out;
    }

    @Test
    void forcedAssemblyTakesBackTheFreshestFaultyMembers() throws IOException {
        List<NamedDevice> m = create(5, 3);
        try (RaidVolume v = open(m, false)) {
            v.write(0, ByteBuffer.wrap(random(4096, 7)));
            v.fail(1, "test");
            // Both remaining members were marked faulty in the others' superblocks too (a full disk
            // that failed them all, as raidd before ENOSPC handling did).
            v.fail(2, "test");
        }
        assertThrows(io.raidd.raid.md.AssemblyException.class, () -> Assembler.assembleOne(m, false));
        AssembledArray forced = Assembler.assembleOne(m, true);
        assertFalse(forced.forced().isEmpty());
        assertNotNull(forced.forced().get(0));
        assertTrue(
                forced.forced().get(0).contains("forced back"), forced.forced().toString());
        try (RaidVolume v = ArrayOpener.open(forced, CONFIG, events::add)) {
            assertTrue(v.isComplete());
            assertTrue(v.resyncPending(), "what was forced back is resynced");
            try (VolumeAgents agents = new VolumeAgents(v, RateLimits.DEFAULT, now::get)) {
                drive(agents, now, 10_000);
            }
        }
        // Written down: the next start needs no --force.
        AssembledArray again = Assembler.assembleOne(m, false);
        assertTrue(again.forced().isEmpty());
    }
}
