package io.raidd.raid.layout;

import java.util.Locale;

/**
 * The shape of an array as md describes it: level, layout, chunk size, member count and how many
 * bytes of each member hold data. Built once, validated, immutable.
 *
 * <p>Exactly one of {@link #parityLayout()} and {@link #mirrorLayout()} is non-null: RAID-4/5/6
 * use the parity layout, RAID-0/1/10 the mirror layout.
 */
public final class Geometry {
    /** md's RAID-5/6 layout numbers (mdadm.h ALGORITHM_*). */
    public static final int LEFT_ASYMMETRIC = 0;

    public static final int RIGHT_ASYMMETRIC = 1;
    public static final int LEFT_SYMMETRIC = 2;
    public static final int RIGHT_SYMMETRIC = 3;
    public static final int PARITY_FIRST = 4;
    public static final int PARITY_LAST = 5;

    /** RAID-10 layout word: near copies in bits 0-7, far copies in bits 8-15, offset in bit 16. */
    public static final int RAID10_NEAR2 = 0x102;

    /**
     * RAID-0 "original" layout: what mdadm 4.2+ writes (with the RAID0_LAYOUT feature bit) so
     * that kernels since 5.4 assemble the array whatever its zones.
     */
    public static final int RAID0_ORIGINAL = 1;

    /** The unit RAID-1 volumes are split into for I/O; md's RAID-1 has no chunk. */
    public static final int RAID1_SPLIT_BYTES = 64 * 1024;

    private static final String[] PARITY_LAYOUT_NAMES = {
        "left-asymmetric", "right-asymmetric", "left-symmetric", "right-symmetric", "parity-first", "parity-last"
    };
    private static final String[] PARITY_LAYOUT_SHORT = {"la", "ra", "ls", "rs", "parity-first", "parity-last"};

    private final int level;
    private final int layoutCode;
    private final int chunkBytes;
    private final int raidDisks;
    private final long memberUsedBytes;
    private final long volumeSizeBytes;
    private final int tolerableFailures;
    private final ParityLayout parityLayout;
    private final MirrorLayout mirrorLayout;

    private Geometry(
            int level,
            int layoutCode,
            int chunkBytes,
            int raidDisks,
            long memberUsedBytes,
            long volumeSizeBytes,
            int tolerableFailures,
            ParityLayout parityLayout,
            MirrorLayout mirrorLayout) {
        this.level = level;
        this.layoutCode = layoutCode;
        this.chunkBytes = chunkBytes;
        this.raidDisks = raidDisks;
        this.memberUsedBytes = memberUsedBytes;
        this.volumeSizeBytes = volumeSizeBytes;
        this.tolerableFailures = tolerableFailures;
        this.parityLayout = parityLayout;
        this.mirrorLayout = mirrorLayout;
    }

    /**
     * Validates and builds a geometry.
     *
     * @param level md level: 0, 1, 4, 5, 6 or 10
     * @param layoutCode md's layout number (RAID-5/6: 0..5; RAID-10: md's 0x0102-style encoding;
     *     RAID-0/1/4: 0)
     * @param chunkBytes a power of two, at least 4096 (ignored for RAID-1)
     * @param raidDisks member count
     * @param componentBytes usable data bytes per member (md's data_size); rounded down to what the
     *     level uses (md's "size")
     * @throws IllegalArgumentException with a one-line reason when the combination is invalid
     */
    public static Geometry of(int level, int layoutCode, int chunkBytes, int raidDisks, long componentBytes) {
        int minDisks = minimumMembers(level, layoutCode, raidDisks);
        if (raidDisks < minDisks) {
            throw new IllegalArgumentException(
                    "RAID-" + level + " needs at least " + minDisks + " members, got " + raidDisks);
        }
        if (raidDisks > 256) {
            throw new IllegalArgumentException("at most 256 members are supported, got " + raidDisks);
        }
        if (level == 1) {
            chunkBytes = RAID1_SPLIT_BYTES;
        } else if (chunkBytes < 4096 || Integer.bitCount(chunkBytes) != 1) {
            throw new IllegalArgumentException(
                    "chunk size must be a power of two of at least 4 KiB, got " + chunkBytes + " bytes");
        }
        return switch (level) {
            case 0 -> {
                // md's RAID-0 layouts (1 original, 2 alternate) differ only between zones; with
                // equal-size members there is one zone and every layout maps alike.
                requireLayout(level, layoutCode, layoutCode >= 0 && layoutCode <= 2);
                long used = roundDown(componentBytes, chunkBytes);
                yield new Geometry(
                        0,
                        layoutCode,
                        chunkBytes,
                        raidDisks,
                        used,
                        used * raidDisks,
                        0,
                        null,
                        new MdMirrorLayout(raidDisks, 1));
            }
            case 1 -> {
                requireLayout(level, layoutCode, layoutCode == 0);
                long used = roundDown(componentBytes, 4096);
                yield new Geometry(
                        1,
                        0,
                        chunkBytes,
                        raidDisks,
                        used,
                        used,
                        raidDisks - 1,
                        null,
                        new MdMirrorLayout(raidDisks, raidDisks));
            }
            case 4, 5, 6 -> {
                if (level == 4) {
                    requireLayout(level, layoutCode, layoutCode == 0 || layoutCode == PARITY_LAST);
                    layoutCode = 0;
                } else {
                    requireLayout(level, layoutCode, layoutCode >= LEFT_ASYMMETRIC && layoutCode <= PARITY_LAST);
                }
                int parity = level == 6 ? 2 : 1;
                long used = roundDown(componentBytes, chunkBytes);
                yield new Geometry(
                        level,
                        layoutCode,
                        chunkBytes,
                        raidDisks,
                        used,
                        used * (raidDisks - parity),
                        parity,
                        new MdParityLayout(level, layoutCode, raidDisks),
                        null);
            }
            case 10 -> {
                long used = Raid10Layout.usedChunksPerMember(layoutCode, raidDisks, componentBytes / chunkBytes);
                Raid10Layout layout = new Raid10Layout(layoutCode, raidDisks, used);
                yield new Geometry(
                        10,
                        layoutCode,
                        chunkBytes,
                        raidDisks,
                        used * chunkBytes,
                        Raid10Layout.volumeChunks(layoutCode, raidDisks, used) * chunkBytes,
                        layout.copies() - 1,
                        null,
                        layout);
            }
            default ->
                throw new IllegalArgumentException(
                        "unsupported RAID level " + level + " (supported: 0, 1, 4, 5, 6, 10)");
        };
    }

    private static int minimumMembers(int level, int layoutCode, int raidDisks) {
        return switch (level) {
            case 0, 1, 4, 5 -> 2;
            case 6 -> 4;
            case 10 -> {
                String problem = Raid10Layout.validate(layoutCode, raidDisks);
                if (problem != null) {
                    throw new IllegalArgumentException(problem);
                }
                yield 2;
            }
            default ->
                throw new IllegalArgumentException(
                        "unsupported RAID level " + level + " (supported: 0, 1, 4, 5, 6, 10)");
        };
    }

    private static void requireLayout(int level, int layoutCode, boolean valid) {
        if (!valid) {
            throw new IllegalArgumentException("layout " + layoutCode + " is not valid for RAID-" + level
                    + (level == 5 || level == 6 ? " (DDF and RAID-6 '-6' layouts are not supported)" : ""));
        }
    }

    private static long roundDown(long value, long unit) {
        return value / unit * unit;
    }

    /** The reason {@link #of} would refuse these parameters, or null when it would accept them. */
    public static String problem(int level, int layoutCode, int chunkBytes, int raidDisks, long componentBytes) {
        try {
            of(level, layoutCode, chunkBytes, raidDisks, componentBytes);
            return null;
        } catch (IllegalArgumentException e) {
            return e.getMessage();
        }
    }

    /** md's default layout for a level (left-symmetric for 5/6, near=2 for 10, 0 otherwise). */
    public static int defaultLayout(int level) {
        return switch (level) {
            case 0 -> RAID0_ORIGINAL;
            case 5, 6 -> LEFT_SYMMETRIC;
            case 10 -> RAID10_NEAR2;
            default -> 0;
        };
    }

    /** Parses md's layout names ("left-symmetric", "ls", "n2", "near=2", ...) for a level. */
    public static int parseLayout(int level, String name) {
        String s = name.trim().toLowerCase(Locale.ROOT);
        if (level == 5 || level == 6) {
            for (int i = 0; i < PARITY_LAYOUT_NAMES.length; i++) {
                if (s.equals(PARITY_LAYOUT_NAMES[i]) || s.equals(PARITY_LAYOUT_SHORT[i])) {
                    return i;
                }
            }
            if (s.equals("default")) {
                return LEFT_SYMMETRIC;
            }
        } else if (level == 10) {
            String digits = s.startsWith("near=") ? s.substring(5) : s.startsWith("n") ? s.substring(1) : null;
            if (digits != null) {
                try {
                    int copies = Integer.parseInt(digits);
                    if (copies >= 2 && copies <= 255) {
                        return 0x100 | copies;
                    }
                } catch (NumberFormatException e) {
                    // fall through to the error below
                }
            }
            String far = s.startsWith("far=") ? s.substring(4) : s.startsWith("f") ? s.substring(1) : null;
            String offset = s.startsWith("offset=") ? s.substring(7) : s.startsWith("o") ? s.substring(1) : null;
            try {
                if (far != null && Integer.parseInt(far) >= 2 && Integer.parseInt(far) <= 255) {
                    return (Integer.parseInt(far) << 8) | 1;
                }
                if (offset != null && Integer.parseInt(offset) >= 2 && Integer.parseInt(offset) <= 255) {
                    return 0x10000 | (Integer.parseInt(offset) << 8) | 1;
                }
            } catch (NumberFormatException e) {
                // fall through to the error below
            }
        } else if (level == 0) {
            switch (s) {
                case "default", "original", "o" -> {
                    return RAID0_ORIGINAL;
                }
                case "alternate", "a" -> {
                    return 2;
                }
                default -> {}
            }
        } else if (s.equals("default") || s.isEmpty()) {
            return 0;
        }
        throw new IllegalArgumentException(
                "unknown layout '" + name + "' for RAID-" + level + " (" + layoutChoices(level) + ")");
    }

    private static String layoutChoices(int level) {
        return switch (level) {
            case 5, 6 -> String.join(", ", PARITY_LAYOUT_NAMES);
            case 10 -> "n2, n3, f2, o2, ...";
            case 0 -> "original, alternate";
            default -> "RAID-" + level + " has no layouts";
        };
    }

    /** md's name for a layout, as mdadm --examine prints it. */
    public static String layoutName(int level, int layoutCode) {
        if ((level == 5 || level == 6) && layoutCode >= 0 && layoutCode < PARITY_LAYOUT_NAMES.length) {
            return PARITY_LAYOUT_NAMES[layoutCode];
        }
        if (level == 10) {
            int near = layoutCode & 0xff;
            int far = (layoutCode >> 8) & 0xff;
            boolean offset = (layoutCode & 0x10000) != 0;
            StringBuilder sb = new StringBuilder();
            if (near > 1) {
                sb.append("near=").append(near);
            }
            if (far > 1) {
                sb.append(sb.length() > 0 ? ", " : "")
                        .append(offset ? "offset=" : "far=")
                        .append(far);
            }
            return sb.toString();
        }
        if (level == 4) {
            return "parity-last";
        }
        if (level == 0 && layoutCode > 0) {
            return layoutCode == RAID0_ORIGINAL
                    ? "original"
                    : layoutCode == 2 ? "alternate" : "unknown(" + layoutCode + ")";
        }
        return level == 5 || level == 6 ? "unknown(" + layoutCode + ")" : "-";
    }

    public int level() {
        return level;
    }

    public int layoutCode() {
        return layoutCode;
    }

    public String layoutName() {
        return layoutName(level, layoutCode);
    }

    public int chunkBytes() {
        return chunkBytes;
    }

    public int raidDisks() {
        return raidDisks;
    }

    /** Bytes of each member that the array uses (md's "size", a chunk multiple where required). */
    public long memberUsedBytes() {
        return memberUsedBytes;
    }

    /** Size of the volume the array presents. */
    public long volumeSizeBytes() {
        return volumeSizeBytes;
    }

    /** Members that can fail with the array still complete in the worst case. */
    public int tolerableFailures() {
        return tolerableFailures;
    }

    /** Non-null for levels 4, 5, 6. */
    public ParityLayout parityLayout() {
        return parityLayout;
    }

    /** Non-null for levels 0, 1, 10. */
    public MirrorLayout mirrorLayout() {
        return mirrorLayout;
    }

    /** What a member byte holds: a kind, and for data the volume byte it is (a copy of). */
    public record MemberByte(Kind kind, long volumeOffsetBytes) {
        public enum Kind {
            DATA,
            P,
            Q,
            /** Outside what the array uses. */
            UNUSED
        }

        static final MemberByte UNUSED = new MemberByte(Kind.UNUSED, -1);
    }

    /**
     * What byte {@code memberOffsetBytes} of slot {@code slot}'s data area holds: the inverse of the
     * layout, for reports that must say where a member block belongs in the volume.
     */
    public MemberByte memberByte(int slot, long memberOffsetBytes) {
        if (memberOffsetBytes < 0 || memberOffsetBytes >= memberUsedBytes || slot < 0 || slot >= raidDisks) {
            return MemberByte.UNUSED;
        }
        long memberChunk = memberOffsetBytes / chunkBytes;
        long inChunk = memberOffsetBytes % chunkBytes;
        if (parityLayout != null) {
            long stripe = memberChunk;
            if (slot == parityLayout.pDisk(stripe)) {
                return new MemberByte(MemberByte.Kind.P, -1);
            }
            if (slot == parityLayout.qDisk(stripe)) {
                return new MemberByte(MemberByte.Kind.Q, -1);
            }
            int k = parityLayout.dataDisks();
            for (int i = 0; i < k; i++) {
                if (parityLayout.dataDisk(stripe, i) == slot) {
                    return new MemberByte(MemberByte.Kind.DATA, (stripe * k + i) * chunkBytes + inChunk);
                }
            }
            return MemberByte.UNUSED;
        }
        long volumeChunks = (volumeSizeBytes + chunkBytes - 1) / chunkBytes;
        long located = mirrorLayout.locate(slot, memberChunk, volumeChunks);
        if (located < 0) {
            return MemberByte.UNUSED;
        }
        long volume = located / mirrorLayout.copies() * chunkBytes + inChunk;
        return volume < volumeSizeBytes ? new MemberByte(MemberByte.Kind.DATA, volume) : MemberByte.UNUSED;
    }

    @Override
    public String toString() {
        return "RAID-" + level + (layoutName().equals("-") ? "" : " " + layoutName()) + ", " + raidDisks + " members"
                + (level == 1 ? "" : ", chunk " + chunkBytes / 1024 + " KiB") + ", " + volumeSizeBytes + " bytes";
    }
}
