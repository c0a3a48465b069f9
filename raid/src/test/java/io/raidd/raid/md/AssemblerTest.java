package io.raidd.raid.md;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raidd.blockdev.MemoryBlockDevice;
import io.raidd.raid.layout.Geometry;
import io.raidd.raid.meta.SuperblockUpdater;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

class AssemblerTest {
    private static final long MEMBER_BYTES = 32L << 20;

    private static List<NamedDevice> create(int level, int n, String name) throws IOException {
        List<NamedDevice> m = SuperblockCodecTest.members(n, MEMBER_BYTES);
        ArrayFormatter.format(
                m, new ArrayFormatter.Spec(level, Geometry.defaultLayout(level), 64 * 1024, name, null, true, false));
        return m;
    }

    private static void rewrite(NamedDevice d, java.util.function.UnaryOperator<Superblock> change) throws IOException {
        SuperblockCodec.write(d.device(), change.apply(SuperblockCodec.read(d.device())));
    }

    @Test
    void assemblesByRoleWhateverTheOrderOfTheMembers() throws IOException {
        List<NamedDevice> m = create(6, 5, "vol");
        List<NamedDevice> shuffled = new ArrayList<>(m);
        Collections.reverse(shuffled);
        AssembledArray a = Assembler.assembleOne(shuffled, false);
        assertEquals("vol", a.name());
        assertTrue(a.clean());
        assertFalse(a.degraded());
        for (int slot = 0; slot < 5; slot++) {
            assertEquals("m" + slot, a.slots().get(slot).orElseThrow().device().name());
        }
        assertEquals(6, a.geometry().level());
    }

    @Test
    void staleMemberIsRejectedAndNamed() throws IOException {
        List<NamedDevice> m = create(5, 4, "vol");
        for (int i = 1; i < 4; i++) {
            rewrite(m.get(i), sb -> sb.withEvents(10));
        }
        AssembledArray a = Assembler.assembleOne(m, false);
        assertTrue(a.degraded());
        assertEquals(List.of(0), a.missingSlots());
        assertEquals("m0", a.rejections().get(0).member());
        assertTrue(
                a.rejections().get(0).reason().startsWith("stale: events 1, the array is at 10"),
                a.rejections().toString());
    }

    @Test
    void oneEventBehindIsStillInSyncAsInMd() throws IOException {
        List<NamedDevice> m = create(5, 4, "vol");
        for (int i = 1; i < 4; i++) {
            rewrite(m.get(i), sb -> sb.withEvents(2));
        }
        assertFalse(Assembler.assembleOne(m, false).degraded());
    }

    @Test
    void memberMarkedFaultyByTheOthersIsRejected() throws IOException {
        List<NamedDevice> m = create(5, 4, "vol");
        for (int i = 1; i < 4; i++) {
            rewrite(m.get(i), sb -> sb.withFaulty(0).withEvents(2));
        }
        AssembledArray a = Assembler.assembleOne(m, false);
        assertEquals(List.of(0), a.missingSlots());
        assertTrue(
                a.rejections().get(0).reason().contains("faulty"),
                a.rejections().toString());
    }

    @Test
    void foreignMemberIsRefusedWhenOneArrayIsExpected() throws IOException {
        List<NamedDevice> a = create(1, 2, "a");
        List<NamedDevice> b = create(1, 2, "b");
        List<NamedDevice> mixed =
                List.of(a.get(0), a.get(1), new NamedDevice("stranger", b.get(0).device()));
        AssemblyException e = assertThrows(AssemblyException.class, () -> Assembler.assembleOne(mixed, false));
        assertTrue(e.getMessage().contains("do not form one array"), e.getMessage());
        Assembler.Scan scan = Assembler.scan(List.of(a.get(0), a.get(1), b.get(0), b.get(1)), false);
        assertEquals(2, scan.arrays().size());
    }

    @Test
    void aByteCopyBesideItsOriginalIsRefusedNamingBoth() throws IOException {
        List<NamedDevice> m = create(1, 2, "vol");
        MemoryBlockDevice copy = new MemoryBlockDevice(MEMBER_BYTES);
        ByteBuffer buf = ByteBuffer.allocate(1 << 20);
        m.get(0).device().read(0, buf);
        copy.write(0, buf.flip());
        AssemblyException e = assertThrows(
                AssemblyException.class,
                () -> Assembler.scan(List.of(m.get(0), m.get(1), new NamedDevice("clone", copy)), false));
        assertTrue(e.getMessage().startsWith("m0 and clone are the same member"), e.getMessage());
    }

    @Test
    void geometryMismatchIsRejected() throws IOException {
        List<NamedDevice> m = create(5, 4, "vol");
        Superblock sb = SuperblockCodec.read(m.get(3).device());
        Superblock odd = new Superblock(
                sb.featureMap(),
                sb.setUuid(),
                sb.setName(),
                sb.ctime(),
                sb.level(),
                0,
                sb.sizeSectors(),
                sb.chunkSectors(),
                sb.raidDisks(),
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                sb.dataOffsetSectors(),
                sb.dataSizeSectors(),
                8,
                0,
                sb.devNumber(),
                0,
                sb.deviceUuid(),
                0,
                0,
                sb.bblogSize(),
                sb.bblogOffset(),
                sb.utime(),
                sb.events(),
                sb.resyncOffset(),
                sb.maxDev(),
                sb.devRoles());
        SuperblockCodec.write(m.get(3).device(), odd);
        AssembledArray a = Assembler.assembleOne(m, false);
        assertEquals("m3", a.rejections().get(0).member());
        assertTrue(
                a.rejections().get(0).reason().startsWith("geometry differs"),
                a.rejections().toString());
    }

    @Test
    void dirtyAndDegradedIsRefusedUnlessForced() throws IOException {
        List<NamedDevice> m = create(6, 5, "vol");
        for (NamedDevice d : m) {
            rewrite(d, sb -> sb.withResyncOffset(0));
        }
        List<NamedDevice> four = m.subList(0, 4);
        AssemblyException e = assertThrows(AssemblyException.class, () -> Assembler.assembleOne(four, false));
        assertTrue(e.getMessage().contains("not shut down cleanly and is degraded"), e.getMessage());
        assertTrue(e.getMessage().contains("--force"), e.getMessage());
        AssembledArray forced = Assembler.assembleOne(four, true);
        assertFalse(forced.clean());
        assertEquals(List.of(4), forced.missingSlots());
        // Dirty but complete starts (and will be resynced).
        assertFalse(Assembler.assembleOne(m, false).clean());
    }

    @Test
    void tooManyMissingIsRefused() throws IOException {
        List<NamedDevice> m = create(5, 4, "vol");
        AssemblyException e =
                assertThrows(AssemblyException.class, () -> Assembler.assembleOne(m.subList(0, 2), false));
        assertTrue(e.getMessage().contains("slots [2, 3] have no member in sync"), e.getMessage());
        assertTrue(e.getMessage().contains("members given: m0, m1"), e.getMessage());
    }

    @Test
    void raid10IsCheckedPerMirrorSet() throws IOException {
        List<NamedDevice> m = create(10, 4, "vol");
        // near=2 on 4 members: mirror sets {0,1} and {2,3}. Losing 0 and 2 is fine, 0 and 1 is not.
        assertEquals(
                List.of(0, 2),
                Assembler.assembleOne(List.of(m.get(1), m.get(3)), false).missingSlots());
        assertThrows(AssemblyException.class, () -> Assembler.assembleOne(List.of(m.get(2), m.get(3)), false));
    }

    @Test
    void corruptSuperblockIsUnusableWithTheReason() throws IOException {
        List<NamedDevice> m = create(1, 2, "vol");
        ByteBuffer one = ByteBuffer.allocate(1);
        m.get(1).device().read(4096 + 40, one);
        m.get(1).device().write(4096 + 40, ByteBuffer.wrap(new byte[] {(byte) (one.get(0) ^ 4)}));
        Assembler.Scan scan = Assembler.scan(m, false);
        assertEquals("m1", scan.unusable().get(0).member());
        assertTrue(
                scan.unusable().get(0).reason().contains("checksum mismatch"),
                scan.unusable().toString());
        assertEquals(List.of(1), scan.arrays().get(0).missingSlots());
    }

    @Test
    void updaterBumpsEventsAndRecordsFailuresOnSurvivors() throws IOException {
        List<NamedDevice> m = create(6, 5, "vol");
        AssembledArray a = Assembler.assembleOne(m, false);
        SuperblockUpdater u = new SuperblockUpdater(a);
        u.markDirty();
        u.memberFailed(
                io.raidd.raid.member.Member.assembled(
                        3,
                        m.get(3).name(),
                        m.get(3).device(),
                        a.slots().get(3).orElseThrow().dataOffsetBytes(),
                        1,
                        io.raidd.raid.member.MemberState.ACTIVE,
                        0),
                "test");
        u.markClean();
        for (int i = 0; i < 5; i++) {
            Superblock sb = SuperblockCodec.read(m.get(i).device());
            if (i == 3) {
                assertEquals(2, sb.events(), "the failed member missed the later updates");
            } else {
                assertEquals(4, sb.events());
                assertEquals(SuperblockDescriptor.ROLE_FAULTY, sb.devRole(3));
                assertEquals("AAA.A", sb.arrayState());
                assertTrue(sb.clean());
            }
        }
        AssembledArray again = Assembler.assembleOne(m, false);
        assertEquals(List.of(3), again.missingSlots());
        assertTrue(
                again.rejections().get(0).reason().contains("faulty"),
                again.rejections().toString());
    }

    @Test
    void aSlotMissingAtAssemblyIsLeftOutOnTheFirstUpdate() throws IOException {
        List<NamedDevice> m = create(5, 4, "vol");
        AssembledArray degraded = Assembler.assembleOne(m.subList(1, 4), false);
        new SuperblockUpdater(degraded).markDirty();
        AssembledArray again = Assembler.assembleOne(m, true);
        assertEquals(List.of(0), again.missingSlots());
        assertTrue(
                again.rejections().get(0).reason().contains("faulty"),
                again.rejections().toString());
    }
}
