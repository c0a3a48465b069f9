package io.raidd.raid.member;

import java.io.IOException;

/**
 * A member read returned bytes that do not match their integrity tags: silent corruption on that
 * member (bit rot, a misdirected or lost write), proven by the tag, not guessed. Treated as a read
 * error of those blocks: the data is served from redundancy and the blocks are rewritten.
 */
public final class CorruptBlockException extends IOException {
    private static final long serialVersionUID = 1L;

    private final transient long[] blockOffsetsBytes;

    public CorruptBlockException(String memberName, long[] blockOffsetsBytes) {
        super(memberName + ": " + blockOffsetsBytes.length
                + " block(s) do not match their integrity tags, first at data offset " + blockOffsetsBytes[0]);
        this.blockOffsetsBytes = blockOffsetsBytes.clone();
    }

    /** Data-area offsets of the 4 KiB blocks that failed verification, ascending. */
    public long[] blockOffsetsBytes() {
        return blockOffsetsBytes.clone();
    }
}
