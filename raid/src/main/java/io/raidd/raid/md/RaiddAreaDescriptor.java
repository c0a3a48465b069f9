package io.raidd.raid.md;

/**
 * raidd's own metadata area, at the end of each member outside md's data_size (md never reads
 * it). Its first 4 KiB is this header; all integers little-endian, offsets in bytes from the start
 * of the member.
 *
 * <pre>
 *  0               8               12              16
 *  +---------------+---------------+---------------+
 *  | magic "RAIDDMD1"              | version (2)   | header bytes (4096)
 *  +---------------+---------------+---------------+---------------+
 *  | array uuid (16, as md's set_uuid)                             |  16
 *  +---------------------------------------------------------------+
 *  | device uuid (16, as md's device_uuid)                         |  32
 *  +-------------------------------+-------------------------------+
 *  | area offset (u64)             | area bytes (u64)              |  48
 *  +-------------------------------+-------------------------------+
 *  | tags offset (u64)             | tags bytes (u64)              |  64
 *  +---------------+---------------+-------------------------------+
 *  | tag block (4096)| tag bytes(4)| headroom offset (u64)         |  80
 *  +---------------+---------------+-------------------------------+
 *  | headroom bytes (u64)          | tags/block(u32)| reserved ... |  96
 *  +-------------------------------+---------------+               |
 *  | ...                                            crc32c (u32)   | 4092
 *  +---------------------------------------------------------------+
 * </pre>
 *
 * <p>The tags region holds the integrity tags of this member's data area, one CRC32C per 4 KiB block,
 * in checksummed 4 KiB tag blocks of 1023 tags ({@link TagBlockDescriptor}); the headroom is
 * reserved for the scrub cursor and journal.
 *
 * <p>Version 1 stored the tags densely (1024 per block, no checksum) and was never written with any
 * tag; raidd upgrades such a header in place ({@link RaiddArea#upgradedFromV1}) when its area can
 * hold the version-2 tags, which it can for every member planned by the same {@link MemberFormat}
 * rounding up to a MiB (the tags grow by 1/1023).
 */
public final class RaiddAreaDescriptor {
    private RaiddAreaDescriptor() {}

    public static final long MAGIC = 0x31444d4444494152L; // "RAIDDMD1" read little-endian
    public static final int VERSION = 2;
    public static final int HEADER_BYTES = 4096;

    public static final int MAGIC_OFFSET = 0;
    public static final int VERSION_OFFSET = 8;
    public static final int HEADER_BYTES_OFFSET = 12;
    public static final int ARRAY_UUID_OFFSET = 16;
    public static final int DEVICE_UUID_OFFSET = 32;
    public static final int AREA_OFFSET_OFFSET = 48;
    public static final int AREA_BYTES_OFFSET = 56;
    public static final int TAGS_OFFSET_OFFSET = 64;
    public static final int TAGS_BYTES_OFFSET = 72;
    public static final int TAG_BLOCK_BYTES_OFFSET = 80;
    public static final int TAG_BYTES_OFFSET = 84;
    public static final int HEADROOM_OFFSET_OFFSET = 88;
    public static final int HEADROOM_BYTES_OFFSET = 96;
    /** Version 2: tags per tag block (1023). */
    public static final int TAGS_PER_BLOCK_OFFSET = 104;

    public static final int CRC_OFFSET = HEADER_BYTES - 4;
}
