package io.raidd.raid.parity;

/**
 * What the P and Q syndromes say about one 4 KiB page of a RAID-6 stripe, by the rule of mdadm's
 * {@code raid6check}: clean, P wrong, Q wrong, one data block wrong (its syndrome index), or more
 * than one member wrong. Instances are interned, so producing one allocates nothing.
 */
public final class SyndromeVerdict {

    public enum Kind {
        CLEAN,
        P_BAD,
        Q_BAD,
        DATA_BAD,
        UNKNOWN
    }

    public static final SyndromeVerdict CLEAN = new SyndromeVerdict(Kind.CLEAN, -1);
    public static final SyndromeVerdict P_BAD = new SyndromeVerdict(Kind.P_BAD, -1);
    public static final SyndromeVerdict Q_BAD = new SyndromeVerdict(Kind.Q_BAD, -1);
    public static final SyndromeVerdict UNKNOWN = new SyndromeVerdict(Kind.UNKNOWN, -1);

    private static final SyndromeVerdict[] DATA_BAD = new SyndromeVerdict[GaloisField.ORDER];

    static {
        for (int z = 0; z < DATA_BAD.length; z++) {
            DATA_BAD[z] = new SyndromeVerdict(Kind.DATA_BAD, z);
        }
    }

    private final Kind kind;
    private final int dataIndex;

    private SyndromeVerdict(Kind kind, int dataIndex) {
        this.kind = kind;
        this.dataIndex = dataIndex;
    }

    /** Data block {@code syndromeIndex} (0..254) is the one that is wrong. */
    public static SyndromeVerdict dataBad(int syndromeIndex) {
        return DATA_BAD[syndromeIndex];
    }

    public Kind kind() {
        return kind;
    }

    /** Syndrome index of the bad data block for {@link Kind#DATA_BAD}, otherwise -1. */
    public int dataIndex() {
        return dataIndex;
    }

    /**
     * The bad block's index in a stripe held in syndrome order (data 0..dataCount-1, then P, then
     * Q), or -1 when the page is clean or the bad member cannot be told.
     */
    public int blockIndex(int dataCount) {
        switch (kind) {
            case P_BAD:
                return dataCount;
            case Q_BAD:
                return dataCount + 1;
            case DATA_BAD:
                return dataIndex;
            default:
                return -1;
        }
    }

    @Override
    public String toString() {
        return kind == Kind.DATA_BAD ? "DATA_BAD(" + dataIndex + ")" : kind.name();
    }
}
