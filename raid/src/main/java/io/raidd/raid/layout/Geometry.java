package io.raidd.raid.layout;

/**
 * The shape of an array as md describes it: level, layout, chunk size, member count and how many
 * bytes of each member hold data. Built once, validated, immutable.
 *
 * <p>Exactly one of {@link #parityLayout()} and {@link #mirrorLayout()} is non-null: RAID-4/5/6 use
 * the parity layout, RAID-0/1/10 the mirror layout.
 */
public final class Geometry {

    /**
     * Validates and builds a geometry.
     *
     * @param level md level: 0, 1, 4, 5, 6 or 10
     * @param layoutCode md's layout number (RAID-5/6: 0..5; RAID-10: md's 0x0102-style encoding;
     *     RAID-0/1: 0)
     * @param chunkBytes a power of two, at least 4096 (ignored for RAID-1)
     * @param raidDisks member count
     * @param componentBytes usable data bytes per member (md's data_size); rounded down to what the
     *     level uses (md's "size")
     * @throws IllegalArgumentException with a one-line reason when the combination is invalid
     */
    public static Geometry of(int level, int layoutCode, int chunkBytes, int raidDisks, long componentBytes) {
        throw new UnsupportedOperationException("pending");
    }

    /** md's default layout for a level (left-symmetric for 5/6, near=2 for 10, 0 otherwise). */
    public static int defaultLayout(int level) {
        throw new UnsupportedOperationException("pending");
    }

    /** Parses md's layout names ("left-symmetric", "ls", "n2", "f2", "o2", ...) for a level. */
    public static int parseLayout(int level, String name) {
        throw new UnsupportedOperationException("pending");
    }

    /** md's name for a layout, as mdadm --examine prints it. */
    public static String layoutName(int level, int layoutCode) {
        throw new UnsupportedOperationException("pending");
    }

    public int level() {
        throw new UnsupportedOperationException("pending");
    }

    public int layoutCode() {
        throw new UnsupportedOperationException("pending");
    }

    public int chunkBytes() {
        throw new UnsupportedOperationException("pending");
    }

    public int raidDisks() {
        throw new UnsupportedOperationException("pending");
    }

    /** Bytes of each member that the array uses (md's "size", a chunk multiple where required). */
    public long memberUsedBytes() {
        throw new UnsupportedOperationException("pending");
    }

    /** Size of the volume the array presents. */
    public long volumeSizeBytes() {
        throw new UnsupportedOperationException("pending");
    }

    /** Members that can fail with the array still complete in the worst case. */
    public int tolerableFailures() {
        throw new UnsupportedOperationException("pending");
    }

    /** Non-null for levels 4, 5, 6. */
    public ParityLayout parityLayout() {
        throw new UnsupportedOperationException("pending");
    }

    /** Non-null for levels 0, 1, 10. */
    public MirrorLayout mirrorLayout() {
        throw new UnsupportedOperationException("pending");
    }
}
