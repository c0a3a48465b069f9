package io.raidd.raid.md;

/**
 * Where everything sits on one member, decided from its size alone so that every tool that plans
 * the same member agrees. md's part follows mdadm's defaults for v1.2 (super1.c
 * validate_geometry1 / write_init_super1); raidd's own area sits at the end, outside md's
 * data_size, where md never looks:
 *
 * <pre>
 * 0        4 KiB       8 KiB        8 KiB + bitmap   data_offset            raidd area    end
 * +--------+-----------+------------+------+---------+----------------------+-------------+
 * | unused | superblock| md bitmap  | bad- | headroom| data (data_size)     | tags + room |
 * |        | (4 KiB)   | (reserved) | block| (md     | chunks, parity       | (RaiddArea- |
 * |        |           |            | log  | reshape)|                      | Descriptor) |
 * +--------+-----------+------------+------+---------+----------------------+-------------+
 * </pre>
 *
 * @param deviceBytes the member's size
 * @param bitmapOffsetSectors md's bitmap, relative to the superblock (always +8: right after it)
 * @param bitmapSpaceSectors space reserved for it (mdadm's choose_bm_space)
 * @param bblogOffsetSectors the bad-block log, relative to the superblock
 * @param bblogSizeSectors its size (8, as mdadm)
 * @param dataOffsetSectors md's data_offset
 * @param dataSizeSectors md's data_size: everything up to raidd's area
 * @param raiddAreaOffsetBytes where raidd's area starts (1 MiB aligned)
 * @param raiddAreaBytes its length, to the end of the member
 */
public record MemberFormat(
        long deviceBytes,
        int bitmapOffsetSectors,
        int bitmapSpaceSectors,
        int bblogOffsetSectors,
        int bblogSizeSectors,
        long dataOffsetSectors,
        long dataSizeSectors,
        long raiddAreaOffsetBytes,
        long raiddAreaBytes) {

    private static final long MIB = 1 << 20;

    /** Space raidd keeps beyond the tags for its future metadata (scrub cursor, journal). */
    public static final long RAIDD_HEADROOM_BYTES = MIB;

    /**
     * Plans a member.
     *
     * @param chunkBytes the array's chunk size (mdadm keeps at least two chunks of headroom); 0 for
     *     RAID-1
     * @throws IllegalArgumentException when the member is too small to hold anything
     */
    public static MemberFormat plan(long deviceBytes, int chunkBytes) {
        long devSectors = deviceBytes / 512;
        int bmSpace = chooseBitmapSpace(devSectors);
        long chunkSectors = chunkBytes / 512;
        long headroom = 128 * 1024 * 2;
        while ((headroom << 10) > devSectors && (chunkSectors == 0 || headroom / 2 >= chunkSectors * 2)) {
            headroom >>= 1;
        }
        long dataOffset = roundUp(12 * 2 + bmSpace + headroom, 2048);
        long dataOffsetBytes = dataOffset * 512;
        // Sized for the whole member past data_offset, a little more than the data area it ends up as.
        long tagBytes = TagBlockDescriptor.tagBlocks(deviceBytes - Math.min(deviceBytes, dataOffsetBytes))
                * TagBlockDescriptor.BLOCK_BYTES;
        long areaBytes = roundUp(RaiddAreaDescriptor.HEADER_BYTES + tagBytes + RAIDD_HEADROOM_BYTES, MIB);
        long areaOffset = (deviceBytes - areaBytes) / MIB * MIB;
        long dataSize = (areaOffset - dataOffsetBytes) / 512;
        if (areaOffset <= dataOffsetBytes || dataSize < 2L * Math.max(chunkSectors, 8)) {
            throw new IllegalArgumentException("member of " + deviceBytes + " bytes is too small: md metadata takes "
                    + dataOffsetBytes + " bytes at the start and raidd's area " + areaBytes + " at the end");
        }
        int bmOffset = 8;
        return new MemberFormat(
                deviceBytes,
                bmOffset,
                bmSpace,
                bmOffset + bmSpace,
                8,
                dataOffset,
                dataSize,
                areaOffset,
                deviceBytes - areaOffset);
    }

    /** mdadm's choose_bm_space, in sectors. */
    static int chooseBitmapSpace(long devSectors) {
        if (devSectors < 64 * 2) {
            return 0;
        }
        if (devSectors - 64 * 2 >= 200L * 1024 * 1024 * 2) {
            return 128 * 2;
        }
        if (devSectors - 4 * 2 > 8L * 1024 * 1024 * 2) {
            return 64 * 2;
        }
        return 4 * 2;
    }

    private static long roundUp(long value, long unit) {
        return (value + unit - 1) / unit * unit;
    }

    public long dataOffsetBytes() {
        return dataOffsetSectors * 512;
    }

    public long dataSizeBytes() {
        return dataSizeSectors * 512;
    }

    /** The smallest member size whose plan gives at least {@code dataBytes} of data. */
    public static long minimumDeviceBytes(long dataBytes, int chunkBytes) {
        long size = dataBytes + 4 * MIB;
        while (true) {
            try {
                if (plan(size, chunkBytes).dataSizeBytes() >= dataBytes) {
                    return size;
                }
            } catch (IllegalArgumentException e) {
                // too small still
            }
            size += MIB;
        }
    }
}
