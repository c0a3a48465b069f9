package io.raidd.raid.md;

import static io.raidd.raid.md.TagBlockDescriptor.*;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;

/** Encoding and decoding of one tag block ({@link TagBlockDescriptor}), and the tag of a data block. */
public final class TagBlock {
    private TagBlock() {}

    /** The tag of one 4 KiB block: its CRC32C, with 0 stored as 1. Reads {@code block}'s remaining bytes. */
    public static int tagOf(ByteBuffer block) {
        CRC32C crc = new CRC32C();
        crc.update(block);
        return stored((int) crc.getValue());
    }

    public static int tagOf(byte[] block, int offset) {
        CRC32C crc = new CRC32C();
        crc.update(block, offset, TAGGED_BYTES);
        return stored((int) crc.getValue());
    }

    private static int stored(int crc) {
        return crc == UNKNOWN ? 1 : crc;
    }

    /** The tag of a block of zeroes. */
    public static final int ZERO_TAG = tagOf(ByteBuffer.allocate(TAGGED_BYTES));

    /** Writes {@code tags} (exactly {@link TagBlockDescriptor#TAGS_PER_BLOCK}) and the checksum into {@code block}. */
    public static void encode(int[] tags, byte[] block) {
        ByteBuffer b = ByteBuffer.wrap(block).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < TAGS_PER_BLOCK; i++) {
            b.putInt(i * TAG_BYTES, tags[i]);
        }
        CRC32C crc = new CRC32C();
        crc.update(block, 0, CRC_OFFSET);
        b.putInt(CRC_OFFSET, (int) crc.getValue());
    }

    /**
     * Reads a tag block into {@code tags}; returns false, with every tag unknown, when its checksum
     * does not match (an all-zero block is valid: all unknown).
     */
    public static boolean decode(byte[] block, int[] tags) {
        ByteBuffer b = ByteBuffer.wrap(block).order(ByteOrder.LITTLE_ENDIAN);
        boolean zero = true;
        for (int i = 0; i < BLOCK_BYTES && zero; i += 8) {
            zero = b.getLong(i) == 0;
        }
        if (zero) {
            java.util.Arrays.fill(tags, UNKNOWN);
            return true;
        }
        CRC32C crc = new CRC32C();
        crc.update(block, 0, CRC_OFFSET);
        if ((int) crc.getValue() != b.getInt(CRC_OFFSET)) {
            java.util.Arrays.fill(tags, UNKNOWN);
            return false;
        }
        for (int i = 0; i < TAGS_PER_BLOCK; i++) {
            tags[i] = b.getInt(i * TAG_BYTES);
        }
        return true;
    }
}
