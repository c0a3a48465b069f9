package io.raidd.raid.volume;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The new bytes of one volume write, held in one or more caller buffers one after the other (a
 * single request, or adjacent requests combined by {@link RaidVolume#writeGathered}). Offsets are
 * relative to the write's first byte, like {@link Piece#bufferOffsetBytes()}. Reading it never
 * moves the caller's buffers; {@link #consume} does that once the write is done.
 */
final class Gather {
    private final ByteBuffer[] callers;
    /** Views of the callers' remaining bytes. */
    private final ByteBuffer[] parts;
    /** {@code starts[i]} is where {@code parts[i]} begins in the write; the last entry is the total. */
    private final int[] starts;

    /** Receives the views {@link #forEachPart} finds. */
    interface PartAction {
        void accept(int offsetInRangeBytes, ByteBuffer view);
    }

    private Gather(ByteBuffer[] callers) {
        this.callers = callers;
        this.parts = new ByteBuffer[callers.length];
        this.starts = new int[callers.length + 1];
        long total = 0;
        for (int i = 0; i < callers.length; i++) {
            parts[i] = callers[i].slice();
            starts[i] = (int) total;
            total += parts[i].remaining();
            if (total > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("a gathered write is limited to 2 GiB, got " + total + "+ bytes");
            }
        }
        starts[callers.length] = (int) total;
    }

    static Gather of(ByteBuffer src) {
        return new Gather(new ByteBuffer[] {src});
    }

    static Gather of(List<ByteBuffer> srcs) {
        return new Gather(srcs.toArray(new ByteBuffer[0]));
    }

    int lengthBytes() {
        return starts[parts.length];
    }

    /** Copies {@code [fromBytes, fromBytes + lengthBytes)} of the write into {@code dst}. */
    void copyTo(int fromBytes, byte[] dst, int dstOffsetBytes, int lengthBytes) {
        forEachPart(fromBytes, lengthBytes, (at, view) -> view.get(0, dst, dstOffsetBytes + at, view.remaining()));
    }

    /** Views of {@code [fromBytes, fromBytes + lengthBytes)}, one per caller buffer it spans, in order. */
    List<ByteBuffer> views(int fromBytes, int lengthBytes) {
        List<ByteBuffer> out = new ArrayList<>(2);
        forEachPart(fromBytes, lengthBytes, (at, view) -> out.add(view));
        return out;
    }

    /**
     * Calls {@code action} with a view of each part of {@code [fromBytes, fromBytes + lengthBytes)}
     * that lies in one caller buffer, in order, with where that view starts inside the range.
     */
    void forEachPart(int fromBytes, int lengthBytes, PartAction action) {
        int i = partAt(fromBytes);
        int pos = fromBytes;
        int end = fromBytes + lengthBytes;
        while (pos < end) {
            int inPart = pos - starts[i];
            int n = Math.min(end, starts[i + 1]) - pos;
            if (n > 0) {
                action.accept(pos - fromBytes, parts[i].slice(inPart, n));
            }
            pos += n;
            i++;
        }
    }

    /**
     * A view of the bytes from {@code fromBytes} that lie in one caller buffer, at most {@code
     * maxLengthBytes} of them; shorter where that buffer ends first. {@code fromBytes} is inside the
     * write.
     */
    ByteBuffer contiguousAt(int fromBytes, int maxLengthBytes) {
        int i = partAt(fromBytes);
        int n = Math.min(maxLengthBytes, starts[i + 1] - fromBytes);
        return parts[i].slice(fromBytes - starts[i], n);
    }

    /** Fresh views of each caller buffer's bytes, in order; reading them moves no caller buffer. */
    List<ByteBuffer> parts() {
        List<ByteBuffer> out = new ArrayList<>(parts.length);
        for (ByteBuffer p : parts) {
            out.add(p.duplicate());
        }
        return out;
    }

    /** Advances every caller buffer to its limit: the write has taken their bytes. */
    void consume() {
        for (ByteBuffer b : callers) {
            b.position(b.limit());
        }
    }

    /** The part holding byte {@code offsetBytes} (the last non-empty part at or before it). */
    private int partAt(int offsetBytes) {
        int i = Arrays.binarySearch(starts, 0, parts.length, offsetBytes);
        if (i < 0) {
            return -i - 2;
        }
        // Empty parts share their start with the next one; take the last part starting here.
        while (i + 1 < parts.length && starts[i + 1] == offsetBytes) {
            i++;
        }
        return i;
    }
}
