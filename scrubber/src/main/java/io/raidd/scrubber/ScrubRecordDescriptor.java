package io.raidd.scrubber;

/**
 * The scrub record: the cursor of the scrub in progress and the history of the last scrubs, kept
 * in the headroom of raidd's area on every member ({@link io.raidd.raid.md.RaiddAreaDescriptor}),
 * where md never looks. All integers little-endian.
 *
 * <p>The headroom starts with two slots of {@link #SLOT_BYTES}; a record with sequence {@code s}
 * goes to slot {@code s % 2} of every member, so a write torn by a crash can only damage the copy
 * being replaced, never the newest complete one. On open, every slot of every member is read and
 * the valid record (magic, version, length, checksum, array uuid) with the highest sequence wins.
 *
 * <pre>
 *  record
 *  0               8       12      16              24
 *  +---------------+-------+-------+---------------+
 *  | magic         |version|record | sequence (u64)|
 *  | "RAIDDSC1"    | (1)   | bytes |               |
 *  +---------------+-------+-------+---------------+-------------------------------+
 *  | array uuid (16, md's set_uuid)                | cursor stripe (u64)           |  24
 *  +-------+-------+---------------+---------------+-------------------------------+
 *  |entries| resvd | reserved (u32)| entry 0, entry 1, ... (newest first)          |  48, 56
 *  | (u16) | (u16) |               |                                               |
 *  +-------+-------+---------------+-------------------------------+---------------+
 *  | ...                                                           | crc32c (u32)  |  record bytes - 4
 *  +---------------------------------------------------------------+---------------+
 *
 *  entry (a scrub; entry 0 may be the one running or paused, whose cursor is above)
 *  0               8               16              24              32
 *  +---------------+---------------+---------------+---------------+
 *  | start (epoch  | end (epoch ms,| done bytes    | total bytes   |
 *  | ms, u64)      | 0: not ended) | (volume, u64) | (volume, u64) |
 *  +---------------+-------+-------+-------+---+---+-------+-------+
 *  | rate (B/s,u64)| found | repd  | unres |st |md |members|stored |  32..60
 *  |               | (u32) | (u32) | (u32) |u8 |u8 | (u16) | (u16) |
 *  +---------------+-------+-------+-------+---+---+-------+-------+
 *  | reserved (u16, u32) to 64 | members x 16 bytes | stored findings x 32 bytes |
 *
 *  member row: slot (u16) | reserved (u16) | found (u32) | repaired (u32) | unresolved (u32)
 *
 *  finding
 *  0       2   3   4   5           8               16              24      28      32
 *  +-------+---+---+---+-----------+---------------+---------------+-------+-------+
 *  | slot  |knd|cse|flg| reserved  | volume offset | member offset |length | resvd |
 *  | (u16) |u8 |u8 |u8 |           | (i64, -1: P,  | (data area,   | (u32) | (u32) |
 *  |       |   |   |   |           |  Q, tag area) |  u64)         |       |       |
 *  +-------+---+---+---+-----------+---------------+---------------+-------+-------+
 * </pre>
 *
 * <ul>
 *   <li>state ({@code st}): 0 running, 1 paused, 2 finished, 3 stopped (the daemon stopped, or it
 *       failed: it continues from the cursor when it comes back), 4 failed.
 *   <li>mode ({@code md}): 0 check, 1 repair.
 *   <li>kind: {@link Finding.Kind} ordinal (0 data, 1 P, 2 Q, 3 tag area); cause: {@link
 *       Finding.Cause} ordinal (0 tag mismatch, 1 parity mismatch, 2 read error, 3 tag block
 *       checksum); flags: bit 0 repaired, bit 1 unresolved.
 *   <li>An entry stores at most {@link #MAX_STORED_FINDINGS} findings (the first found); its counts
 *       cover them all. At most {@link #MAX_ENTRIES} entries are kept; older ones are dropped.
 *   <li>Member names are not stored: a slot is named by the member that holds it when read.
 * </ul>
 */
public final class ScrubRecordDescriptor {
    private ScrubRecordDescriptor() {}

    public static final long MAGIC = 0x3143534444494152L; // "RAIDDSC1" read little-endian
    public static final int VERSION = 1;

    /** Each of the two slots at the start of the headroom. */
    public static final int SLOT_BYTES = 256 * 1024;

    public static final int MAX_ENTRIES = 8;
    public static final int MAX_STORED_FINDINGS = 512;

    public static final int MAGIC_OFFSET = 0;
    public static final int VERSION_OFFSET = 8;
    public static final int RECORD_BYTES_OFFSET = 12;
    public static final int SEQUENCE_OFFSET = 16;
    public static final int ARRAY_UUID_OFFSET = 24;
    public static final int CURSOR_OFFSET = 40;
    public static final int ENTRIES_OFFSET = 48;
    public static final int HEADER_BYTES = 56;

    public static final int E_START = 0;
    public static final int E_END = 8;
    public static final int E_DONE = 16;
    public static final int E_TOTAL = 24;
    public static final int E_RATE = 32;
    public static final int E_FOUND = 40;
    public static final int E_REPAIRED = 44;
    public static final int E_UNRESOLVED = 48;
    public static final int E_STATE = 52;
    public static final int E_MODE = 53;
    public static final int E_MEMBERS = 54;
    public static final int E_STORED = 56;
    public static final int ENTRY_HEADER_BYTES = 64;

    public static final int MEMBER_ROW_BYTES = 16;

    public static final int F_SLOT = 0;
    public static final int F_KIND = 2;
    public static final int F_CAUSE = 3;
    public static final int F_FLAGS = 4;
    public static final int F_VOLUME_OFFSET = 8;
    public static final int F_MEMBER_OFFSET = 16;
    public static final int F_LENGTH = 24;
    public static final int FINDING_BYTES = 32;

    public static final int FLAG_REPAIRED = 1;
    public static final int FLAG_UNRESOLVED = 2;

    public static final int CRC_BYTES = 4;
}
