package io.raidd.raid.md;

/**
 * One 4 KiB block of a member's integrity tags, in the tags region of raidd's area ({@link
 * RaiddAreaDescriptor}, version 2). Tag block {@code t} holds the tags of data blocks {@code [t *
 * 1023, t * 1023 + 1023)} of the member's data area (4 KiB blocks counted from data_offset); all
 * integers little-endian.
 *
 * <pre>
 *  0        4        8                                        4088     4092     4096
 *  +--------+--------+----------------------------------------+--------+--------+
 *  | tag 0  | tag 1  | ...                                    |tag 1022| crc32c |
 *  +--------+--------+----------------------------------------+--------+--------+
 * </pre>
 *
 * <ul>
 *   <li>A tag is the CRC32C of its 4 KiB data block, stored as 1 when the CRC is 0: 0 means
 *       "unknown" (never written since the tags were reset, or written while they could not be
 *       kept). A block whose tag is unknown is not verified.
 *   <li>The last word is the CRC32C of bytes 0-4091. A block whose checksum does not match (a torn
 *       or damaged tag block) is treated as all unknown: it never makes good data look bad. An
 *       all-zero block (the region as created, or punched) is valid and all unknown.
 * </ul>
 */
public final class TagBlockDescriptor {
    private TagBlockDescriptor() {}

    public static final int BLOCK_BYTES = 4096;
    public static final int TAG_BYTES = 4;
    public static final int TAGS_PER_BLOCK = 1023;
    public static final int CRC_OFFSET = BLOCK_BYTES - 4;

    /** Data bytes one tag covers. */
    public static final int TAGGED_BYTES = 4096;

    /** The stored value for "no tag". */
    public static final int UNKNOWN = 0;

    /** Tag blocks needed for {@code dataBytes} of data area. */
    public static long tagBlocks(long dataBytes) {
        long blocks = dataBytes / TAGGED_BYTES;
        return (blocks + TAGS_PER_BLOCK - 1) / TAGS_PER_BLOCK;
    }
}
