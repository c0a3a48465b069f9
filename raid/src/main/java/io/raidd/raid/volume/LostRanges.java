package io.raidd.raid.volume;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * Volume ranges whose data could not be reconstructed (a rebuild met more unreadable members than
 * the level tolerates there). Reads of them fail rather than return whatever the rebuilt member
 * holds there; a write that covers a whole range makes it whole again. Empty in a healthy volume,
 * where checking costs one read of a field.
 */
final class LostRanges {
    /** Start to end (exclusive), non-overlapping. */
    private final ConcurrentSkipListMap<Long, Long> ranges = new ConcurrentSkipListMap<>();

    boolean isEmpty() {
        return ranges.isEmpty();
    }

    synchronized void add(long offsetBytes, long lengthBytes) {
        long start = offsetBytes;
        long end = offsetBytes + lengthBytes;
        Map.Entry<Long, Long> before = ranges.floorEntry(start);
        if (before != null && before.getValue() >= start) {
            start = before.getKey();
            end = Math.max(end, before.getValue());
            ranges.remove(before.getKey());
        }
        Map.Entry<Long, Long> next;
        while ((next = ranges.ceilingEntry(start)) != null && next.getKey() <= end) {
            end = Math.max(end, next.getValue());
            ranges.remove(next.getKey());
        }
        ranges.put(start, end);
    }

    /** The first lost range overlapping {@code [offsetBytes, +lengthBytes)}, or null. */
    long[] overlap(long offsetBytes, long lengthBytes) {
        if (ranges.isEmpty()) {
            return null;
        }
        long end = offsetBytes + lengthBytes;
        Map.Entry<Long, Long> e = ranges.floorEntry(offsetBytes);
        if (e != null && e.getValue() > offsetBytes) {
            return new long[] {e.getKey(), e.getValue() - e.getKey()};
        }
        e = ranges.higherEntry(offsetBytes);
        if (e != null && e.getKey() < end) {
            return new long[] {e.getKey(), e.getValue() - e.getKey()};
        }
        return null;
    }

    /** Forgets lost ranges that lie entirely inside {@code [offsetBytes, +lengthBytes)}. */
    synchronized void covered(long offsetBytes, long lengthBytes) {
        if (ranges.isEmpty()) {
            return;
        }
        long end = offsetBytes + lengthBytes;
        ranges.subMap(offsetBytes, true, end, false).entrySet().removeIf(e -> e.getValue() <= end);
    }

    /** Every lost range as {offset, length}, in order. */
    List<long[]> list() {
        List<long[]> out = new ArrayList<>();
        for (Map.Entry<Long, Long> e : ranges.entrySet()) {
            out.add(new long[] {e.getKey(), e.getValue() - e.getKey()});
        }
        return out;
    }
}
