package io.raidd.raid.volume;

import static io.raidd.raid.volume.RaidVolumeFaultTest.random;
import static io.raidd.raid.volume.RaidVolumeFaultTest.read;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raidd.blockdev.FaultInjectingBlockDevice;
import io.raidd.blockdev.MemoryBlockDevice;
import io.raidd.raid.layout.Geometry;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@link RaidVolume#writeGathered}: adjacent buffers that together cover a stripe are written as a
 * full stripe, with no member reads, and what they leave behind is the same as separate writes.
 * (Random gathered writes against a model, healthy and degraded, are in {@link
 * RaidVolumeModelTest}.)
 */
class RaidVolumeGatheredWriteTest {
    private static final int CHUNK = 16 * 1024;
    private static final long MEMBER_BYTES = 32L * CHUNK;
    private static final long DATA_OFFSET = 8192;

    private final List<FaultInjectingBlockDevice> devices = new ArrayList<>();

    private RaidVolume volume(int level, int disks) {
        return volume(level, disks, CHUNK);
    }

    private RaidVolume volume(int level, int disks, int chunk) {
        devices.clear();
        long memberBytes = 32L * chunk;
        Geometry g = Geometry.of(level, Geometry.defaultLayout(level), chunk, disks, memberBytes);
        RaidVolume.Builder b = RaidVolume.builder("g", g);
        for (int slot = 0; slot < disks; slot++) {
            FaultInjectingBlockDevice d =
                    new FaultInjectingBlockDevice(new MemoryBlockDevice(DATA_OFFSET + memberBytes));
            devices.add(d);
            b.member(slot, "d" + slot, d, DATA_OFFSET);
        }
        return b.build();
    }

    private long memberReads() {
        long reads = 0;
        for (FaultInjectingBlockDevice d : devices) {
            reads += d.reads();
        }
        return reads;
    }

    @Test
    void optimalWriteIsAFullStripeForParityLevelsOnly() throws IOException {
        try (RaidVolume r5 = volume(5, 5);
                RaidVolume r6 = volume(6, 6);
                RaidVolume r1 = volume(1, 2);
                RaidVolume r10 = volume(10, 4);
                RaidVolume r0 = volume(0, 3)) {
            assertEquals(4 * CHUNK, r5.optimalWriteBytes());
            assertEquals(4 * CHUNK, r6.optimalWriteBytes());
            assertEquals(0, r1.optimalWriteBytes());
            assertEquals(0, r10.optimalWriteBytes());
            assertEquals(0, r0.optimalWriteBytes());
        }
    }

    @Test
    void twoHalfStripeBuffersAreWrittenAsOneFullStripeWithoutReads() throws IOException {
        for (int level : new int[] {5, 6}) {
            int disks = level == 5 ? 5 : 6;
            int stripe = 4 * CHUNK;
            byte[] data = random(2 * stripe, level);
            try (RaidVolume v = volume(level, disks)) {
                // Separate half-stripe writes must read old data or parity: the count the test relies on.
                v.write(0, ByteBuffer.wrap(data, 0, stripe / 2));
                v.write(stripe / 2, ByteBuffer.wrap(data, stripe / 2, stripe / 2));
                assertTrue(memberReads() > 0, "RAID-" + level + ": separate half-stripe writes read nothing");

                long before = memberReads();
                ByteBuffer first = ByteBuffer.allocateDirect(stripe / 2);
                first.put(data, stripe, stripe / 2).flip();
                ByteBuffer second = ByteBuffer.wrap(data, stripe + stripe / 2, stripe / 2);
                v.writeGathered(stripe, List.of(first, second));
                assertEquals(before, memberReads(), "RAID-" + level + ": a gathered full stripe read members");
                assertEquals(0, first.remaining());
                assertEquals(0, second.remaining());
                assertArrayEquals(data, read(v, 0, data.length));

                // Parity is right: each member's loss still reads back the same bytes.
                for (int lost = 0; lost < disks; lost++) {
                    devices.get(lost).failReads(0, DATA_OFFSET + MEMBER_BYTES);
                    assertArrayEquals(data, read(v, 0, data.length), "RAID-" + level + " without member " + lost);
                    devices.get(lost).clearErrors();
                }
            }
        }
    }

    /**
     * Chunks larger than {@link ParityWrites#PARITY_WINDOW_BYTES}, and a hull that is not a multiple
     * of it (RAID-5 of two disks: one data chunk, so any write covers all data), computed window by
     * window: every single lost member (every pair for RAID-6) still reads back the same bytes.
     */
    @Test
    void fullStripeParityLargerThanOneWindowIsRight() throws IOException {
        int chunk = 4 * ParityWrites.PARITY_WINDOW_BYTES;
        record Case(int level, int disks, long offset, int length) {}
        for (Case c : List.of(
                new Case(6, 6, 0, 2 * 4 * chunk),
                new Case(5, 5, 4L * chunk, 4 * chunk),
                new Case(5, 2, 1000, 2 * ParityWrites.PARITY_WINDOW_BYTES + 12_345))) {
            byte[] data = random(c.length(), c.level() * 31L + c.disks());
            try (RaidVolume v = volume(c.level(), c.disks(), chunk)) {
                v.writeGathered(
                        c.offset(),
                        List.of(ByteBuffer.wrap(data, 0, 777), ByteBuffer.wrap(data, 777, data.length - 777)));
                assertEquals(0, memberReads(), c + ": a full-stripe write read members");
                assertArrayEquals(data, read(v, c.offset(), data.length));
                for (int a = 0; a < c.disks(); a++) {
                    int lastB = c.level() == 6 ? c.disks() - 1 : a; // RAID-5: one member at a time
                    for (int b = c.level() == 6 ? a + 1 : a; b <= lastB; b++) {
                        devices.get(a).failReads(0, Long.MAX_VALUE / 2);
                        devices.get(b).failReads(0, Long.MAX_VALUE / 2);
                        assertArrayEquals(data, read(v, c.offset(), data.length), c + " without " + a + ", " + b);
                        devices.get(a).clearErrors();
                        devices.get(b).clearErrors();
                    }
                }
            }
        }
    }

    @Test
    void aChunkSpreadOverSeveralBuffersReachesItsMemberAsOneWrite() throws IOException {
        // As a WRITE payload does: the socket delivered it in pieces smaller than a chunk.
        int stripe = 4 * CHUNK;
        int piece = CHUNK / 3 + 1;
        byte[] data = random(stripe, 11);
        try (RaidVolume v = volume(5, 5)) {
            List<ByteBuffer> parts = new ArrayList<>();
            for (int at = 0; at < stripe; at += piece) {
                ByteBuffer direct = ByteBuffer.allocateDirect(Math.min(piece, stripe - at));
                parts.add(direct.put(data, at, direct.capacity()).flip());
            }
            long[] writesBefore = new long[devices.size()];
            for (int i = 0; i < devices.size(); i++) {
                writesBefore[i] = devices.get(i).writes();
            }
            v.writeGathered(0, parts);
            int gathered = 0;
            for (int i = 0; i < devices.size(); i++) {
                FaultInjectingBlockDevice d = devices.get(i);
                if (d.gatheredWrites() == 1) {
                    gathered++;
                    assertTrue(d.writes() - writesBefore[i] > 1, "member " + i + ": one write of several buffers");
                } else {
                    assertEquals(0, d.gatheredWrites(), "member " + i);
                    assertEquals(1, d.writes() - writesBefore[i], "member " + i + " (parity): one plain write");
                }
            }
            // Chunks 0-3 each span three or four buffers; P is one buffer of its own.
            assertEquals(4, gathered, "data members written with one gathered write each");
            assertArrayEquals(data, read(v, 0, stripe));
            for (int lost = 0; lost < devices.size(); lost++) {
                devices.get(lost).failReads(0, DATA_OFFSET + MEMBER_BYTES);
                assertArrayEquals(data, read(v, 0, stripe), "P checked by losing member " + lost);
                devices.get(lost).clearErrors();
            }
        }
    }

    @Test
    void buffersSplittingAChunkAreWrittenWhereTheyBelong() throws IOException {
        int stripe = 4 * CHUNK;
        byte[] data = random(3 * stripe + 1000, 7);
        try (RaidVolume v = volume(5, 5)) {
            List<ByteBuffer> parts = new ArrayList<>();
            int[] cuts = {0, 1, CHUNK / 2 + 3, CHUNK / 2 + 3, stripe + 17, 2 * stripe, data.length};
            for (int i = 0; i + 1 < cuts.length; i++) {
                parts.add(ByteBuffer.wrap(data, cuts[i], cuts[i + 1] - cuts[i]));
            }
            v.writeGathered(CHUNK / 4, parts);
            assertArrayEquals(data, read(v, CHUNK / 4, data.length));
            assertArrayEquals(new byte[CHUNK / 4], read(v, 0, CHUNK / 4), "bytes before the write");
            for (ByteBuffer b : parts) {
                assertEquals(0, b.remaining());
            }
        }
    }
}
