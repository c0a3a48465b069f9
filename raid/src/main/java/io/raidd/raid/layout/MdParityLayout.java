package io.raidd.raid.layout;

/**
 * md's RAID-4/5/6 layouts (drivers/md/raid5.c {@code raid5_compute_sector}, non-DDF algorithms),
 * precomputed for one period: every layout repeats after {@code raidDisks} stripes.
 *
 * <p>The Q coefficient of a data chunk is its position in md's syndrome order, which starts at the
 * member after Q ({@code raid6_d0}) and walks upward with wraparound, skipping P and Q ({@code
 * raid6_idx_to_slot}). For the symmetric layouts that equals the data index; for the asymmetric
 * ones it does not.
 */
final class MdParityLayout implements ParityLayout {
    private final int layoutCode;
    private final int n;
    private final int k;
    private final int parityCount;
    private final int[] pDisk;
    private final int[] qDisk;
    private final int[][] dataDisk;
    private final int[][] syndromeIndex;

    MdParityLayout(int level, int layoutCode, int raidDisks) {
        this.layoutCode = layoutCode;
        this.n = raidDisks;
        this.parityCount = level == 6 ? 2 : 1;
        this.k = n - parityCount;
        this.pDisk = new int[n];
        this.qDisk = new int[n];
        this.dataDisk = new int[n][k];
        this.syndromeIndex = new int[n][k];
        for (int r = 0; r < n; r++) {
            for (int i = 0; i < k; i++) {
                int[] pqd = level == 6 ? raid6(r, i) : level == 4 ? new int[] {k, -1, i} : raid5(r, i);
                pDisk[r] = pqd[0];
                qDisk[r] = pqd[1];
                dataDisk[r][i] = pqd[2];
            }
            if (level == 6) {
                int[] slotOfDisk = syndromeSlots(pDisk[r], qDisk[r]);
                for (int i = 0; i < k; i++) {
                    syndromeIndex[r][i] = slotOfDisk[dataDisk[r][i]];
                }
            } else {
                for (int i = 0; i < k; i++) {
                    syndromeIndex[r][i] = i;
                }
            }
        }
    }

    /** {P, -1, data disk} for RAID-5, stripe residue {@code r}, data index {@code i}. */
    private int[] raid5(int r, int i) {
        int dataDisks = n - 1;
        return switch (layoutCode) {
            case Geometry.LEFT_ASYMMETRIC -> {
                int pd = dataDisks - r;
                yield new int[] {pd, -1, i >= pd ? i + 1 : i};
            }
            case Geometry.RIGHT_ASYMMETRIC -> new int[] {r, -1, i >= r ? i + 1 : i};
            case Geometry.LEFT_SYMMETRIC -> {
                int pd = dataDisks - r;
                yield new int[] {pd, -1, (pd + 1 + i) % n};
            }
            case Geometry.RIGHT_SYMMETRIC -> new int[] {r, -1, (r + 1 + i) % n};
            case Geometry.PARITY_FIRST -> new int[] {0, -1, i + 1};
            case Geometry.PARITY_LAST -> new int[] {dataDisks, -1, i};
            default -> throw new IllegalArgumentException("layout " + layoutCode);
        };
    }

    /** {P, Q, data disk} for RAID-6. */
    private int[] raid6(int r, int i) {
        return switch (layoutCode) {
            case Geometry.LEFT_ASYMMETRIC, Geometry.RIGHT_ASYMMETRIC -> {
                int pd = layoutCode == Geometry.LEFT_ASYMMETRIC ? n - 1 - r : r;
                if (pd == n - 1) {
                    yield new int[] {pd, 0, i + 1}; // Q D D D P
                }
                yield new int[] {pd, pd + 1, i >= pd ? i + 2 : i}; // D D P Q D
            }
            case Geometry.LEFT_SYMMETRIC -> {
                int pd = n - 1 - r;
                yield new int[] {pd, (pd + 1) % n, (pd + 2 + i) % n};
            }
            case Geometry.RIGHT_SYMMETRIC -> new int[] {r, (r + 1) % n, (r + 2 + i) % n};
            case Geometry.PARITY_FIRST -> new int[] {0, 1, i + 2};
            case Geometry.PARITY_LAST -> new int[] {n - 2, n - 1, i};
            default -> throw new IllegalArgumentException("layout " + layoutCode);
        };
    }

    /** Syndrome slot of each disk: walk from the disk after Q, skipping P and Q. */
    private int[] syndromeSlots(int p, int q) {
        int[] slot = new int[n];
        int d0 = q == n - 1 ? 0 : q + 1;
        int count = 0;
        for (int step = 0, d = d0; step < n; step++, d = (d + 1) % n) {
            slot[d] = d == p || d == q ? -1 : count++;
        }
        return slot;
    }

    @Override
    public int layoutCode() {
        return layoutCode;
    }

    @Override
    public int raidDisks() {
        return n;
    }

    @Override
    public int dataDisks() {
        return k;
    }

    @Override
    public int parityDisks() {
        return parityCount;
    }

    @Override
    public int pDisk(long stripe) {
        return pDisk[(int) (stripe % n)];
    }

    @Override
    public int qDisk(long stripe) {
        return qDisk[(int) (stripe % n)];
    }

    @Override
    public int dataDisk(long stripe, int dataIndex) {
        return dataDisk[(int) (stripe % n)][dataIndex];
    }

    @Override
    public int syndromeIndex(long stripe, int dataIndex) {
        return syndromeIndex[(int) (stripe % n)][dataIndex];
    }
}
