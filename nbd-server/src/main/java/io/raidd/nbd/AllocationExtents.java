package io.raidd.nbd;

import static io.raidd.nbd.StructuredReplyDescriptor.STATE_HOLE;
import static io.raidd.nbd.StructuredReplyDescriptor.STATE_ZERO;

import io.raidd.blockdev.BlockDevice;
import io.raidd.blockdev.Extent;
import java.io.IOException;
import java.util.Arrays;
import java.util.List;

/**
 * Turns {@link BlockDevice#allocation} into base:allocation descriptors: consecutive, nonzero,
 * merged where the status repeats, and with every inner boundary on a multiple of the alignment
 * (the protocol's MUST for an advertised minimum block size). A block that straddles a change of
 * status gets the flags common to all of it, which is always safe: HOLE only if all of it is a
 * hole, ZERO only if all of it reads as zeroes.
 */
final class AllocationExtents {
    /** Descriptors per BLOCK_STATUS reply; clients ask again from where the reply stopped. */
    static final int MAX_DESCRIPTORS = 1 << 16;

    /** Device extents examined per call, bounding work for a fragmented device. */
    private static final int MAX_DEVICE_EXTENTS = 1 << 17;

    /** Growable parallel arrays; one instance per request, no per-extent objects. */
    static final class Descriptors {
        private long[] lengths = new long[8];
        private int[] flags = new int[8];
        private int count;

        int count() {
            return count;
        }

        long length(int i) {
            return lengths[i];
        }

        int flags(int i) {
            return flags[i];
        }

        long totalLength() {
            long sum = 0;
            for (int i = 0; i < count; i++) {
                sum += lengths[i];
            }
            return sum;
        }

        void add(long length, int f) {
            if (count > 0 && flags[count - 1] == f) {
                lengths[count - 1] += length;
                return;
            }
            if (count == lengths.length) {
                lengths = Arrays.copyOf(lengths, count * 2);
                flags = Arrays.copyOf(flags, count * 2);
            }
            lengths[count] = length;
            flags[count] = f;
            count++;
        }
    }

    /**
     * Describes {@code [offsetBytes, offsetBytes + lengthBytes)}, which must lie inside the device
     * and be nonempty. The result covers a nonempty prefix of the range, all of it unless the
     * device is too fragmented or {@code maxDescriptors} is reached.
     */
    static Descriptors describe(
            BlockDevice device, long offsetBytes, long lengthBytes, int alignmentBytes, int maxDescriptors)
            throws IOException {
        long end = offsetBytes + lengthBytes;
        ExtentRun extents = gather(device, offsetBytes, end);
        long coveredEnd = extents.end();
        if (coveredEnd < end) {
            // Too fragmented to finish: stop at an aligned boundary so the reply stays valid.
            long aligned = coveredEnd & -(long) alignmentBytes;
            end = aligned > offsetBytes ? aligned : coveredEnd;
        }
        return align(extents, offsetBytes, end, alignmentBytes, maxDescriptors);
    }

    /** Status flags of one device extent in base:allocation terms. */
    static int flagsOf(Extent e) {
        return (e.hole() ? STATE_HOLE : 0) | (e.zero() ? STATE_ZERO : 0);
    }

    /** The device's extents from {@code start}, as starts/ends/flags, clipped to {@code end}. */
    private static ExtentRun gather(BlockDevice device, long start, long end) throws IOException {
        ExtentRun run = new ExtentRun(start);
        long pos = start;
        while (pos < end && run.count < MAX_DEVICE_EXTENTS) {
            List<Extent> part = device.allocation(pos, end - pos);
            long before = pos;
            for (Extent e : part) {
                if (e.offsetBytes() != pos) {
                    break;
                }
                long extentEnd = Math.min(e.endBytes(), end);
                run.add(extentEnd, flagsOf(e));
                pos = extentEnd;
                if (pos >= end) {
                    break;
                }
            }
            if (pos == before) {
                // The device answered nothing usable: status 0 ("allocated, contents unknown") is
                // always a correct description.
                run.add(end, 0);
                pos = end;
            }
        }
        return run;
    }

    private static Descriptors align(ExtentRun ext, long start, long end, int alignment, int maxDescriptors) {
        Descriptors out = new Descriptors();
        long mask = -(long) alignment;
        long pos = start;
        int i = 0;
        while (pos < end && out.count() < maxDescriptors) {
            while (ext.ends[i] <= pos) {
                i++;
            }
            int f = ext.flags[i];
            int j = i;
            while (j + 1 < ext.count && ext.ends[j] < end && ext.flags[j + 1] == f) {
                j++;
            }
            long runEnd = Math.min(ext.ends[j], end);
            if (runEnd >= end) {
                out.add(end - pos, f);
                pos = end;
                continue;
            }
            long alignedEnd = runEnd & mask;
            if (alignedEnd > pos) {
                out.add(alignedEnd - pos, f);
                pos = alignedEnd;
                continue;
            }
            // The status changes inside the block holding pos: describe that block conservatively.
            long blockEnd = Math.min(end, (pos & mask) + alignment);
            int common = STATE_HOLE | STATE_ZERO;
            for (int k = i; k < ext.count && ext.starts(k) < blockEnd; k++) {
                common &= ext.flags[k];
            }
            out.add(blockEnd - pos, common);
            pos = blockEnd;
        }
        return out;
    }

    /** Consecutive device extents as end offsets and flags, starting at a fixed offset. */
    private static final class ExtentRun {
        private final long start;
        private long[] ends = new long[8];
        private int[] flags = new int[8];
        private int count;

        ExtentRun(long start) {
            this.start = start;
        }

        void add(long endOffset, int f) {
            if (count > 0 && flags[count - 1] == f) {
                ends[count - 1] = endOffset;
                return;
            }
            if (count == ends.length) {
                ends = Arrays.copyOf(ends, count * 2);
                flags = Arrays.copyOf(flags, count * 2);
            }
            ends[count] = endOffset;
            flags[count] = f;
            count++;
        }

        long starts(int k) {
            return k == 0 ? start : ends[k - 1];
        }

        long end() {
            return count == 0 ? start : ends[count - 1];
        }
    }

    private AllocationExtents() {}
}
