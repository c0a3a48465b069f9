package io.raidd.raid.md;

/**
 * The md v1.2 superblock ({@code struct mdp_superblock_1}, include/uapi/linux/raid/md_p.h), as it
 * sits 4 KiB from the start of every member. All integers little-endian; sizes in 512-byte sectors
 * unless noted.
 *
 * <pre>
 *  0               4               8               12              16
 *  +---------------+---------------+---------------+---------------+
 *  | magic         | major_version | feature_map   | pad0 (0)      |   0
 *  +---------------+---------------+---------------+---------------+
 *  | set_uuid (16 bytes)                                           |  16
 *  +---------------------------------------------------------------+
 *  | set_name (32 bytes, NUL padded)                               |  32
 *  |                                                               |  48
 *  +-------------------------------+---------------+---------------+
 *  | ctime (u64)                   | level (s32)   | layout        |  64
 *  +-------------------------------+---------------+---------------+
 *  | size (u64, used sectors)      | chunksize     | raid_disks    |  80
 *  +---------------+---------------+---------------+---------------+
 *  | bitmap_offset | new_level     | reshape_position (u64)        |  96
 *  +---------------+---------------+---------------+---------------+
 *  | delta_disks   | new_layout    | new_chunk     | new_offset    | 112
 *  +---------------+---------------+---------------+---------------+
 *  | data_offset (u64)             | data_size (u64)               | 128
 *  +-------------------------------+-------------------------------+
 *  | super_offset (u64) = 8        | recovery_offset (u64)         | 144
 *  +---------------+---------------+-------------------------------+
 *  | dev_number    | cnt_corr_read | device_uuid (16 bytes) ...    | 160
 *  +---------------+---------------+                               |
 *  | ... device_uuid               | devflags(u8) bblog_shift(u8)  | 176
 *  |                               | bblog_size(u16) bblog_off(s32)|
 *  +-------------------------------+-------------------------------+
 *  | utime (u64)                   | events (u64)                  | 192
 *  +-------------------------------+---------------+---------------+
 *  | resync_offset (u64)           | sb_csum       | max_dev       | 208
 *  +-------------------------------+---------------+---------------+
 *  | pad3 (32 bytes, 0)                                            | 224
 *  +---------------------------------------------------------------+
 *  | dev_roles[max_dev] (u16 each): slot of device n, or a role    | 256
 *  | constant below                                                |
 *  +---------------------------------------------------------------+
 * </pre>
 *
 * <p>sb_csum covers the first {@code 256 + 2 * max_dev} bytes (see {@link SuperblockCodec}).
 */
public final class SuperblockDescriptor {
    private SuperblockDescriptor() {}

    public static final int MAGIC = 0xa92b4efc;
    public static final int MAJOR_VERSION = 1;

    /** v1.2: the superblock starts 8 sectors (4 KiB) into the member. */
    public static final long SUPER_OFFSET_SECTORS = 8;

    public static final long SUPER_OFFSET_BYTES = SUPER_OFFSET_SECTORS * 512;

    /** The kernel reads (and we write) this much at the superblock offset. */
    public static final int BLOCK_BYTES = 4096;

    public static final int HEADER_BYTES = 256;

    /** What mdadm's init_super1 writes: room for 384 roles in the first KiB. */
    public static final int DEFAULT_MAX_DEV = (1024 - HEADER_BYTES) / 2;

    public static final int MAX_MAX_DEV = (BLOCK_BYTES - HEADER_BYTES) / 2;

    public static final int MAGIC_OFFSET = 0;
    public static final int MAJOR_VERSION_OFFSET = 4;
    public static final int FEATURE_MAP_OFFSET = 8;
    public static final int PAD0_OFFSET = 12;
    public static final int SET_UUID_OFFSET = 16;
    public static final int SET_NAME_OFFSET = 32;
    public static final int SET_NAME_BYTES = 32;
    public static final int CTIME_OFFSET = 64;
    public static final int LEVEL_OFFSET = 72;
    public static final int LAYOUT_OFFSET = 76;
    public static final int SIZE_OFFSET = 80;
    public static final int CHUNKSIZE_OFFSET = 88;
    public static final int RAID_DISKS_OFFSET = 92;
    public static final int BITMAP_OFFSET_OFFSET = 96;
    public static final int NEW_LEVEL_OFFSET = 100;
    public static final int RESHAPE_POSITION_OFFSET = 104;
    public static final int DELTA_DISKS_OFFSET = 112;
    public static final int NEW_LAYOUT_OFFSET = 116;
    public static final int NEW_CHUNK_OFFSET = 120;
    public static final int NEW_OFFSET_OFFSET = 124;
    public static final int DATA_OFFSET_OFFSET = 128;
    public static final int DATA_SIZE_OFFSET = 136;
    public static final int SUPER_OFFSET_OFFSET = 144;
    public static final int RECOVERY_OFFSET_OFFSET = 152;
    public static final int DEV_NUMBER_OFFSET = 160;
    public static final int CNT_CORRECTED_READ_OFFSET = 164;
    public static final int DEVICE_UUID_OFFSET = 168;
    public static final int DEVFLAGS_OFFSET = 184;
    public static final int BBLOG_SHIFT_OFFSET = 185;
    public static final int BBLOG_SIZE_OFFSET = 186;
    public static final int BBLOG_OFFSET_OFFSET = 188;
    public static final int UTIME_OFFSET = 192;
    public static final int EVENTS_OFFSET = 200;
    public static final int RESYNC_OFFSET_OFFSET = 208;
    public static final int SB_CSUM_OFFSET = 216;
    public static final int MAX_DEV_OFFSET = 220;
    public static final int PAD3_OFFSET = 224;
    public static final int PAD3_BYTES = 32;
    public static final int DEV_ROLES_OFFSET = 256;

    /** feature_map bits (md_p.h MD_FEATURE_*). */
    public static final int FEATURE_BITMAP_OFFSET = 1;

    public static final int FEATURE_RECOVERY_OFFSET = 2;
    public static final int FEATURE_RESHAPE_ACTIVE = 4;
    public static final int FEATURE_BAD_BLOCKS = 8;
    public static final int FEATURE_REPLACEMENT = 16;
    public static final int FEATURE_RESHAPE_BACKWARDS = 32;
    public static final int FEATURE_NEW_OFFSET = 64;
    public static final int FEATURE_RECOVERY_BITMAP = 128;
    public static final int FEATURE_CLUSTERED = 256;
    public static final int FEATURE_JOURNAL = 512;
    public static final int FEATURE_PPL = 1024;
    public static final int FEATURE_MULTIPLE_PPLS = 2048;
    public static final int FEATURE_RAID0_LAYOUT = 4096;
    /** Every bit the kernel knows (MD_FEATURE_ALL); anything else is rejected. */
    public static final int FEATURE_ALL = 8191;

    /** dev_roles values that are not slots. */
    public static final int ROLE_SPARE = 0xffff;

    public static final int ROLE_FAULTY = 0xfffe;
    public static final int ROLE_JOURNAL = 0xfffd;
    /** Roles below this are slots (MD_DISK_ROLE_MAX). */
    public static final int ROLE_MAX = 0xff00;

    /** resync_offset meaning "in sync" (MaxSector). */
    public static final long RESYNC_DONE = -1L;
}
