package io.raidd.raid.volume;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raidd.blockdev.Extent;
import io.raidd.blockdev.FaultInjectingBlockDevice;
import io.raidd.blockdev.MemoryBlockDevice;
import io.raidd.raid.layout.Geometry;
import io.raidd.raid.member.Member;
import io.raidd.raid.member.MemberState;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Member faults one at a time, with what the volume must do about each. */
class RaidVolumeFaultTest {
    private static final int CHUNK = 16 * 1024;
    private static final long MEMBER_BYTES = 64L * CHUNK;
    private static final long DATA_OFFSET = 8192;

    private final List<FaultInjectingBlockDevice> devices = new ArrayList<>();
    private final RaidVolumeModelTest.RecordingMetadata metadata = new RaidVolumeModelTest.RecordingMetadata();

    private RaidVolume volume(int level, int disks, Duration timeout) {
        Geometry g = Geometry.of(level, Geometry.defaultLayout(level), CHUNK, disks, MEMBER_BYTES);
        RaidVolume.Builder b = RaidVolume.builder("t", g)
                .config(RaidVolumeConfig.DEFAULT.withMemberTimeout(timeout))
                .metadata(metadata);
        for (int slot = 0; slot < disks; slot++) {
            FaultInjectingBlockDevice d =
                    new FaultInjectingBlockDevice(new MemoryBlockDevice(DATA_OFFSET + MEMBER_BYTES));
            devices.add(d);
            b.member(slot, "d" + slot, d, DATA_OFFSET);
        }
        return b.build();
    }

    static byte[] random(int length, long seed) {
        byte[] data = new byte[length];
        new Random(seed).nextBytes(data);
        return data;
    }

    static byte[] read(RaidVolume v, long offset, int length) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(length);
        v.read(offset, buf);
        return buf.array();
    }

    @Test
    void readIfCachedServesHealthyPiecesAndLeavesEveryFaultToTheBlockingPath() throws IOException {
        for (int level : new int[] {0, 1, 5, 6, 10}) {
            devices.clear();
            int disks = level == 1 ? 3 : 4;
            try (RaidVolume v = volume(level, disks, Duration.ofSeconds(10))) {
                byte[] data = random((int) v.sizeBytes(), 40 + level);
                v.write(0, ByteBuffer.wrap(data));
                long offset = CHUNK - 512;
                int length = 3 * CHUNK;
                ByteBuffer dst = ByteBuffer.allocate(length);
                assertTrue(v.readIfCached(offset, dst), "RAID-" + level + ": every member healthy and in memory");
                assertArrayEquals(
                        java.util.Arrays.copyOfRange(data, (int) offset, (int) offset + length),
                        dst.array(),
                        "RAID-" + level);
                // A fault on any one member the read needs refuses the whole read, leaving the
                // buffer's position where it was.
                byte[] expected = java.util.Arrays.copyOfRange(data, (int) offset, (int) offset + length);
                int refusals = 0;
                for (FaultInjectingBlockDevice d : devices) {
                    d.failReads(0, 1);
                    ByteBuffer joined = ByteBuffer.allocate(length);
                    if (v.readIfCached(offset, joined)) {
                        // This member holds nothing the read uses (parity, or a copy not preferred).
                        assertArrayEquals(expected, joined.array(), "RAID-" + level);
                    } else {
                        assertEquals(0, joined.position(), "RAID-" + level + ": position after the refusal");
                        refusals++;
                    }
                    d.clearErrors();
                }
                assertTrue(refusals > 0, "RAID-" + level);
                long readsBefore = v.readOps();
                for (FaultInjectingBlockDevice d : devices) {
                    d.failReads(0, 1);
                }
                ByteBuffer refused = ByteBuffer.allocate(length);
                assertFalse(v.readIfCached(offset, refused), "RAID-" + level);
                assertEquals(0, refused.position());
                assertEquals(readsBefore, v.readOps());
                assertFalse(v.readIfCached(v.sizeBytes() - 512, ByteBuffer.allocate(1024)), "past the end");
            }
        }
    }

    @Test
    void readErrorIsReconstructedAndRewrittenWithoutFailingTheMember() throws IOException {
        try (RaidVolume v = volume(5, 4, Duration.ofSeconds(10))) {
            byte[] data = random((int) v.sizeBytes(), 1);
            v.write(0, ByteBuffer.wrap(data));
            // Volume chunk 0 of stripe 0 lives on member 1 in left-symmetric RAID-5 with 4 members.
            int disk = v.geometry().parityLayout().dataDisk(0, 0);
            devices.get(disk).failReads(DATA_OFFSET + 4096, 512);
            byte[] firstChunk = java.util.Arrays.copyOf(data, CHUNK);
            assertArrayEquals(firstChunk, read(v, 0, CHUNK));
            Member m = v.members().get(disk);
            assertEquals(MemberState.ACTIVE, m.state());
            assertEquals(1, m.correctedReads());
            assertEquals(0, metadata.failed.size());
            // The rewrite remapped the sector: the member reads fine again, directly.
            long before = devices.get(disk).failures();
            assertArrayEquals(firstChunk, read(v, 0, CHUNK));
            assertEquals(before, devices.get(disk).failures());
        }
    }

    @Test
    void readErrorWhoseRewriteFailsFailsTheMember() throws IOException {
        try (RaidVolume v = volume(6, 5, Duration.ofSeconds(10))) {
            byte[] data = random((int) v.sizeBytes(), 2);
            v.write(0, ByteBuffer.wrap(data));
            int disk = v.geometry().parityLayout().dataDisk(3, 1);
            long memberOffset = DATA_OFFSET + 3L * CHUNK;
            devices.get(disk).failReads(memberOffset, CHUNK);
            devices.get(disk).failWrites(memberOffset, CHUNK);
            long volumeOffset = (3L * 3 + 1) * CHUNK;
            assertArrayEquals(
                    java.util.Arrays.copyOfRange(data, (int) volumeOffset, (int) volumeOffset + CHUNK),
                    read(v, volumeOffset, CHUNK));
            assertEquals(MemberState.FAULTY, v.members().get(disk).state());
            assertEquals(List.of(disk), metadata.failed);
            assertTrue(
                    v.members().get(disk).failureReason().contains("write"),
                    v.members().get(disk).failureReason());
            assertArrayEquals(data, read(v, 0, (int) v.sizeBytes()));
        }
    }

    @Test
    void writeErrorFailsTheMemberAndTheWriteStillSucceeds() throws IOException {
        try (RaidVolume v = volume(5, 3, Duration.ofSeconds(10))) {
            devices.get(2).failWrites(0, DATA_OFFSET + MEMBER_BYTES);
            byte[] data = random(5 * CHUNK + 77, 3);
            v.write(1000, ByteBuffer.wrap(data));
            assertEquals(MemberState.FAULTY, v.members().get(2).state());
            assertEquals(List.of(2), metadata.failed);
            assertEquals(1, metadata.dirtyMarks);
            assertArrayEquals(data, read(v, 1000, data.length));
        }
    }

    @Test
    void hungMemberTimesOutAndIsFailed() throws Exception {
        try (RaidVolume v = volume(1, 2, Duration.ofMillis(300))) {
            byte[] data = random(3 * CHUNK, 4);
            v.write(0, ByteBuffer.wrap(data));
            devices.get(0).hang();
            // Reads prefer copy (chunk % 2); chunk 0 goes to member 0, which hangs.
            assertArrayEquals(data, read(v, 0, data.length));
            assertEquals(MemberState.FAULTY, v.members().get(0).state());
            assertTrue(
                    v.members().get(0).failureReason().contains("timed out"),
                    v.members().get(0).failureReason());
            v.write(0, ByteBuffer.wrap(random(100, 5)));
            devices.get(0).release();
        }
    }

    @Test
    void hungMemberInAMultiMemberBatchIsFailedWhicheverThreadRunsIt() throws Exception {
        // A stripe-wide write and read touch every member: the hung one's I/O runs on its own
        // thread for some batches and on the caller's for others (the last op of each batch).
        for (int hung = 0; hung < 3; hung++) {
            devices.clear();
            try (RaidVolume v = volume(5, 3, Duration.ofMillis(300))) {
                byte[] data = random(4 * CHUNK, hung);
                v.write(0, ByteBuffer.wrap(data));
                devices.get(hung).hang();
                byte[] update = random(4 * CHUNK, 100 + hung);
                v.write(0, ByteBuffer.wrap(update));
                assertArrayEquals(update, read(v, 0, update.length));
                assertEquals(MemberState.FAULTY, v.members().get(hung).state(), "member " + hung);
                devices.get(hung).release();
            }
        }
    }

    @Test
    void safeModeMarksTheArrayCleanOnlyAfterTheDelayWithoutWrites() throws Exception {
        java.util.concurrent.atomic.AtomicLong now = new java.util.concurrent.atomic.AtomicLong(1_000_000_000L);
        Geometry g = Geometry.of(5, Geometry.LEFT_SYMMETRIC, CHUNK, 3, MEMBER_BYTES);
        RaidVolume.Builder b = RaidVolume.builder("t", g)
                .config(RaidVolumeConfig.DEFAULT.withSafeModeDelay(Duration.ofSeconds(1)))
                .metadata(metadata)
                .nanoClock(now::get);
        for (int slot = 0; slot < 3; slot++) {
            FaultInjectingBlockDevice d =
                    new FaultInjectingBlockDevice(new MemoryBlockDevice(DATA_OFFSET + MEMBER_BYTES));
            devices.add(d);
            b.member(slot, "d" + slot, d, DATA_OFFSET);
        }
        try (RaidVolume v = b.build()) {
            assertTrue(!v.tryMarkClean(), "clean already");
            v.write(0, ByteBuffer.wrap(random(100, 20)));
            assertEquals(1, metadata.dirtyMarks);
            now.addAndGet(500_000_000L);
            assertTrue(!v.tryMarkClean(), "too soon");
            now.addAndGet(600_000_000L);
            long flushesBefore = devices.get(0).flushes();
            assertTrue(v.tryMarkClean());
            assertEquals(1, metadata.cleanMarks);
            assertTrue(!v.isDirty());
            assertTrue(devices.get(0).flushes() > flushesBefore, "members flushed before marking clean");
            v.write(0, ByteBuffer.wrap(random(100, 21)));
            assertEquals(2, metadata.dirtyMarks, "a write after clean marks dirty again first");
            // A write in flight (stuck on a hung member) keeps the array dirty whatever the clock says.
            devices.get(1).hang();
            java.util.concurrent.CompletableFuture<Void> stuck = java.util.concurrent.CompletableFuture.runAsync(() -> {
                try {
                    v.write(0, ByteBuffer.wrap(random(3 * CHUNK, 22)));
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (devices.get(1).hungCalls() == 0 && System.nanoTime() < deadline) {
                Thread.onSpinWait();
            }
            assertTrue(devices.get(1).hungCalls() > 0, "write reached the hung member");
            now.addAndGet(10_000_000_000L);
            assertTrue(!v.tryMarkClean(), "not idle while a write is in flight");
            devices.get(1).release();
            stuck.get(10, java.util.concurrent.TimeUnit.SECONDS);
        }
    }

    @Test
    void losingMoreMembersThanTheLevelToleratesFailsIoWithAClearError() throws IOException {
        try (RaidVolume v = volume(5, 3, Duration.ofSeconds(10))) {
            v.write(0, ByteBuffer.wrap(random(CHUNK * 4, 6)));
            devices.get(0).failStop();
            devices.get(1).failStop();
            IOException e = assertThrows(IOException.class, () -> v.write(0, ByteBuffer.wrap(random(CHUNK * 4, 7))));
            assertTrue(e.getMessage().contains("array t"), e.getMessage());
            assertThrows(IOException.class, () -> read(v, 0, CHUNK * 4));
            assertEquals(2, v.failedMembers());
        }
    }

    @Test
    void raid0ErrorsGoToTheCallerAndMembersStayActive() throws IOException {
        try (RaidVolume v = volume(0, 2, Duration.ofSeconds(10))) {
            devices.get(1).failReads(DATA_OFFSET, CHUNK);
            assertThrows(IOException.class, () -> read(v, CHUNK, 100));
            assertEquals(MemberState.ACTIVE, v.members().get(1).state());
            assertEquals(0, metadata.failed.size());
        }
    }

    @Test
    void writeZeroesOnWholeStripesKeepsParityConsistent() throws IOException {
        try (RaidVolume v = volume(6, 5, Duration.ofSeconds(10))) {
            byte[] data = random((int) v.sizeBytes(), 8);
            v.write(0, ByteBuffer.wrap(data));
            long stripeBytes = 3L * CHUNK;
            long from = stripeBytes / 2;
            long length = 5 * stripeBytes;
            v.writeZeroes(from, length);
            java.util.Arrays.fill(data, (int) from, (int) (from + length), (byte) 0);
            devices.get(0).failStop();
            devices.get(3).failStop();
            assertArrayEquals(data, read(v, 0, (int) v.sizeBytes()));
        }
    }

    @Test
    void discardKeepsRedundancyAndDataOutsideTheRange() throws IOException {
        try (RaidVolume v = volume(5, 4, Duration.ofSeconds(10))) {
            byte[] data = random((int) v.sizeBytes(), 9);
            v.write(0, ByteBuffer.wrap(data));
            long stripeBytes = 3L * CHUNK;
            v.discard(stripeBytes + 5, 4 * stripeBytes);
            // Whole stripes inside the range read as zeroes (members punched); the partial ends are kept.
            java.util.Arrays.fill(data, (int) (2 * stripeBytes), (int) (5 * stripeBytes), (byte) 0);
            devices.get(1).failStop();
            assertArrayEquals(data, read(v, 0, (int) v.sizeBytes()));
        }
    }

    @Test
    void allocationReportsHolesOfAFreshVolumeAndDataAfterWrites() throws IOException {
        try (RaidVolume v = volume(5, 4, Duration.ofSeconds(10))) {
            List<Extent> fresh = v.allocation(0, v.sizeBytes());
            assertEquals(List.of(new Extent(0, v.sizeBytes(), true, true)), fresh);
            v.write(CHUNK * 5 + 10, ByteBuffer.wrap(random(100, 10)));
            List<Extent> after = v.allocation(0, v.sizeBytes());
            long covered = 0;
            boolean sawData = false;
            for (Extent e : after) {
                assertEquals(covered, e.offsetBytes());
                covered += e.lengthBytes();
                if (!e.hole() && e.offsetBytes() <= CHUNK * 5 + 10 && e.endBytes() >= CHUNK * 5 + 110) {
                    sawData = true;
                }
            }
            assertEquals(v.sizeBytes(), covered);
            assertTrue(sawData, "written range reported as data: " + after);
        }
    }
}
