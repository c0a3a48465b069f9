package io.raidd.raid.layout;

/**
 * Where md puts the data chunks, P and Q of one stripe of a RAID-4/5/6 array. A stripe is the row
 * of chunks at the same chunk index on every member; stripe {@code s} occupies member bytes {@code
 * [s * chunkBytes, (s + 1) * chunkBytes)} relative to the data offset.
 */
public interface ParityLayout {

    /** md's layout number (for example 2 = left-symmetric). */
    int layoutCode();

    int raidDisks();

    /** Data chunks per stripe: raidDisks minus the parity count. */
    int dataDisks();

    /** 1 for RAID-4/5, 2 for RAID-6. */
    int parityDisks();

    /** Member holding P in {@code stripe}. */
    int pDisk(long stripe);

    /** Member holding Q in {@code stripe}, or -1 when there is no Q. */
    int qDisk(long stripe);

    /** Member holding the {@code dataIndex}-th chunk (in volume address order) of {@code stripe}. */
    int dataDisk(long stripe, int dataIndex);

    /** Exponent of {@code g} that multiplies that chunk in Q (md's syndrome order). */
    int syndromeIndex(long stripe, int dataIndex);
}
