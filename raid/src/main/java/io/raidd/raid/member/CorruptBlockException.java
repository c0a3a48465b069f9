package io.raidd.raid.member;

import java.io.IOException;

/**
 * A member read returned bytes that do not match their integrity tags: silent corruption on that
 * member (bit rot, a misdirected or lost write), proven by the tag, not guessed. Treated as a read
 * error of those blocks: the data is served from redundancy and the blocks are rewritten. The
 * read's destination holds the bytes as read, bad blocks included: the good ones may be used.
 */
public final class CorruptBlockException extends IOException {
    private static final long serialVersionUID = 1L;

    private final transient long[] blockOffsetsBytes;

    public CorruptBlockException(String memberName, long[] blockOffsetsBytes) {
        super(memberName + ": " + blockOffsetsBytes.length
                + " block(s) do not match their integrity tags, first at data offset " + blockOffsetsBytes[0]);
        this.blockOffsetsBytes = blockOffsetsBytes.clone();
    }

    /**
     * The bad bytes of a read of {@code lengthBytes} at data offset {@code readOffsetBytes}, as
     * {@code [from, to)} pairs relative to the read's start, ascending.
     */
    public long[] rangesWithin(long readOffsetBytes, long lengthBytes) {
        long[] out = new long[2 * blockOffsetsBytes.length];
        int n = 0;
        for (long b : blockOffsetsBytes) {
            long from = Math.max(b, readOffsetBytes) - readOffsetBytes;
            long to = Math.min(b + io.raidd.raid.md.TagBlockDescriptor.TAGGED_BYTES, readOffsetBytes + lengthBytes)
                    - readOffsetBytes;
            if (from < to) {
                out[n++] = from;
                out[n++] = to;
            }
        }
        return java.util.Arrays.copyOf(out, n);
    }

    /** Data-area offsets of the 4 KiB blocks that failed verification, ascending. */
    public long[] blockOffsetsBytes() {
        return blockOffsetsBytes.clone();
    }
}
