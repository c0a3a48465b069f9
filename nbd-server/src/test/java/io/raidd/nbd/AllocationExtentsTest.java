package io.raidd.nbd;

import static io.raidd.nbd.StructuredReplyDescriptor.STATE_HOLE;
import static io.raidd.nbd.StructuredReplyDescriptor.STATE_ZERO;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raidd.blockdev.BlockDevice;
import io.raidd.blockdev.Extent;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * AllocationExtents against a byte-by-byte reference on random allocation maps, random ranges,
 * every alignment, and devices that answer in pieces. Seed: -Dnbd.test.seed=N.
 */
class AllocationExtentsTest {
    private static final long SEED = Long.getLong("nbd.test.seed", System.nanoTime());

    /** A device described by a status per byte; answers at most {@code perCall} extents a time. */
    private static final class MapDevice implements BlockDevice {
        final int[] status;
        final int perCall;

        MapDevice(int[] status, int perCall) {
            this.status = status;
            this.perCall = perCall;
        }

        @Override
        public long sizeBytes() {
            return status.length;
        }

        @Override
        public int logicalBlockSizeBytes() {
            return 512;
        }

        @Override
        public void read(long offsetBytes, ByteBuffer dst) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void write(long offsetBytes, ByteBuffer src) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void flush() {}

        @Override
        public void discard(long offsetBytes, long lengthBytes) {}

        @Override
        public void writeZeroes(long offsetBytes, long lengthBytes) {}

        @Override
        public List<Extent> allocation(long offsetBytes, long lengthBytes) throws IOException {
            checkRange(offsetBytes, lengthBytes);
            List<Extent> out = new ArrayList<>();
            int pos = (int) offsetBytes;
            int end = (int) (offsetBytes + lengthBytes);
            while (pos < end && out.size() < perCall) {
                int s = status[pos];
                int runEnd = pos;
                while (runEnd < end && status[runEnd] == s) {
                    runEnd++;
                }
                out.add(new Extent(pos, runEnd - pos, (s & STATE_HOLE) != 0, (s & STATE_ZERO) != 0));
                pos = runEnd;
            }
            return out;
        }

        @Override
        public void close() {}
    }

    private static int[] randomMap(Random random, int size, int granularity) {
        int[] status = new int[size];
        int pos = 0;
        while (pos < size) {
            int run = (1 + random.nextInt(6)) * granularity + (granularity == 1 ? random.nextInt(700) : 0);
            int s = random.nextInt(4);
            for (int i = pos; i < Math.min(size, pos + run); i++) {
                status[i] = s;
            }
            pos += run;
        }
        return status;
    }

    @Test
    void descriptorsAreSoundAlignedConsecutiveAndComplete() throws IOException {
        System.out.println("AllocationExtentsTest seed " + SEED);
        Random random = new Random(SEED);
        for (int round = 0; round < 2000; round++) {
            int alignment = 1 << random.nextInt(13);
            int size = alignment * (1 + random.nextInt(64));
            int granularity = random.nextBoolean() ? 1 : alignment;
            MapDevice device = new MapDevice(randomMap(random, size, granularity), 1 + random.nextInt(4));
            boolean alignedRequest = random.nextBoolean();
            long offset;
            long length;
            if (alignedRequest) {
                int blocks = size / alignment;
                int first = random.nextInt(blocks);
                offset = (long) first * alignment;
                length = (long) (1 + random.nextInt(blocks - first)) * alignment;
            } else {
                offset = random.nextInt(size);
                length = 1 + random.nextInt((int) (size - offset));
            }
            String where =
                    "round " + round + " seed " + SEED + " align " + alignment + " [" + offset + "+" + length + ")";
            AllocationExtents.Descriptors d = AllocationExtents.describe(device, offset, length, alignment, 1 << 16);
            assertTrue(d.count() > 0, where);
            assertEquals(length, d.totalLength(), where);
            long pos = offset;
            for (int i = 0; i < d.count(); i++) {
                assertTrue(d.length(i) > 0, where);
                if (i > 0) {
                    assertNotEquals(d.flags(i - 1), d.flags(i), "merged " + where);
                }
                for (long b = pos; b < pos + d.length(i); b++) {
                    int actual = device.status[(int) b];
                    assertEquals(d.flags(i), d.flags(i) & actual, "unsound flags at " + b + " " + where);
                }
                pos += d.length(i);
                if (i < d.count() - 1) {
                    assertEquals(0, pos % alignment, "inner boundary " + pos + " unaligned " + where);
                }
            }
            if (granularity == alignment && alignedRequest) {
                // Boundaries all aligned: the answer must be exact, not merely safe.
                pos = offset;
                for (int i = 0; i < d.count(); i++) {
                    for (long b = pos; b < pos + d.length(i); b++) {
                        assertEquals(device.status[(int) b], d.flags(i), "imprecise at " + b + " " + where);
                    }
                    pos += d.length(i);
                }
            }
        }
    }

    @Test
    void reqOneGivesOneExtentWithinTheRequest() throws IOException {
        Random random = new Random(SEED + 1);
        for (int round = 0; round < 500; round++) {
            int size = 512 * (1 + random.nextInt(64));
            MapDevice device = new MapDevice(randomMap(random, size, 1), 3);
            long offset = random.nextInt(size);
            long length = 1 + random.nextInt((int) (size - offset));
            AllocationExtents.Descriptors d = AllocationExtents.describe(device, offset, length, 512, 1);
            assertEquals(1, d.count());
            assertTrue(d.length(0) > 0 && d.length(0) <= length);
        }
    }

    @Test
    void deviceThatAnswersNothingIsDescribedAsPlainData() throws IOException {
        MapDevice silent = new MapDevice(new int[4096], 0);
        AllocationExtents.Descriptors d = AllocationExtents.describe(silent, 0, 4096, 512, 10);
        assertEquals(1, d.count());
        assertEquals(4096, d.length(0));
        assertEquals(0, d.flags(0));
    }
}
