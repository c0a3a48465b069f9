package io.raidd.raid.parity;

import java.util.Arrays;

/**
 * Rebuilds lost blocks of one RAID-6 stripe and locates a single silently corrupted block, with
 * md's arithmetic ({@code lib/raid6/recov.c}, mdadm {@code raid6check.c}).
 *
 * <p>A stripe is a {@code byte[][] blocks} in syndrome order: {@code blocks[0..dataCount-1]} are
 * the data blocks (index i is multiplied by g^i in Q), {@code blocks[dataCount]} is P and {@code
 * blocks[dataCount + 1]} is Q. Like the kernel arrays, every block is addressed at the same {@code
 * offset} for {@code length} bytes. A surviving data block may be {@code null} (all zeros); lost
 * blocks must be buffers, they receive the rebuilt bytes.
 *
 * <p>Like md, the recovery briefly replaces entries of {@code blocks} (with {@code null} or the P
 * buffer) and restores them before returning, so one {@code blocks} array must not be shared
 * between concurrent calls. The instance itself is stateless and allocates nothing.
 */
public final class Raid6Recovery {

    /** Granularity of {@link #locateSingleError}: raid6check's CHECK_PAGE_SIZE. */
    public static final int CHECK_PAGE_BYTES = 4096;

    private final ParityKernel kernel;

    public Raid6Recovery(ParityKernel kernel) {
        this.kernel = kernel;
    }

    public ParityKernel kernel() {
        return kernel;
    }

    /** Rebuilds one lost block (data, P = dataCount or Q = dataCount + 1) from the others. */
    public void recover(byte[][] blocks, int dataCount, int lost, int offset, int length) {
        checkStripe(blocks, dataCount);
        checkLost(blocks, lost, dataCount);
        final byte[] p = blocks[dataCount];
        final byte[] q = blocks[dataCount + 1];
        if (lost == dataCount + 1) {
            // P is rewritten with the value it already has; a Q-only pass would save little.
            kernel.pq(blocks, dataCount, p, q, offset, length);
        } else if (lost == dataCount) {
            kernel.p(blocks, dataCount, p, offset, length);
        } else {
            recoverDataFromP(blocks, dataCount, lost, offset, length);
        }
    }

    /** Rebuilds two lost blocks (any two of data, P, Q; in either order) from the others. */
    public void recover(byte[][] blocks, int dataCount, int lostA, int lostB, int offset, int length) {
        checkStripe(blocks, dataCount);
        checkLost(blocks, lostA, dataCount);
        checkLost(blocks, lostB, dataCount);
        if (lostA == lostB) {
            throw new IllegalArgumentException("the same block " + lostA + " given twice");
        }
        final int a = Math.min(lostA, lostB);
        final int b = Math.max(lostA, lostB);
        final int pIndex = dataCount;
        final int qIndex = dataCount + 1;
        final byte[] p = blocks[pIndex];
        final byte[] q = blocks[qIndex];
        if (a == pIndex) {
            kernel.pq(blocks, dataCount, p, q, offset, length);
        } else if (b == qIndex) {
            // md leaves data+Q to the RAID-5 path: data from P, then Q regenerated.
            recoverDataFromP(blocks, dataCount, a, offset, length);
            kernel.pq(blocks, dataCount, p, q, offset, length);
        } else if (b == pIndex) {
            recoverDataAndP(blocks, dataCount, a, offset, length);
        } else {
            recoverTwoData(blocks, dataCount, a, b, offset, length);
        }
    }

    /**
     * Checks the stripe page by page and says which single block, if any, disagrees with P and Q.
     * {@code scratchP} and {@code scratchQ} receive the recomputed syndromes (same offset as the
     * blocks). {@code verdicts[page]} is written for each 4 KiB page starting at {@code offset}, a
     * short last page included; returns the number of pages. Nothing is repaired.
     */
    public int locateSingleError(
            byte[][] blocks,
            int dataCount,
            int offset,
            int length,
            byte[] scratchP,
            byte[] scratchQ,
            SyndromeVerdict[] verdicts) {
        checkStripe(blocks, dataCount);
        final int pages = (length + CHECK_PAGE_BYTES - 1) / CHECK_PAGE_BYTES;
        if (verdicts.length < pages) {
            throw new IllegalArgumentException(pages + " pages, verdicts holds " + verdicts.length);
        }
        final byte[] p = blocks[dataCount];
        final byte[] q = blocks[dataCount + 1];
        kernel.pq(blocks, dataCount, scratchP, scratchQ, offset, length);
        final int end = offset + length;
        for (int page = 0; page < pages; page++) {
            final int from = offset + page * CHECK_PAGE_BYTES;
            final int to = Math.min(from + CHECK_PAGE_BYTES, end);
            // Arrays.mismatch is a vectorised intrinsic; almost every page is clean.
            final boolean clean = Arrays.mismatch(p, from, to, scratchP, from, to) < 0
                    && Arrays.mismatch(q, from, to, scratchQ, from, to) < 0;
            verdicts[page] =
                    clean ? SyndromeVerdict.CLEAN : classifyPage(p, q, scratchP, scratchQ, from, to, dataCount);
        }
        return pages;
    }

    /**
     * raid6check's per-byte rule: with Px = P ^ P' and Qx = Q ^ Q', Px alone means P, Qx alone
     * means Q, and both mean data block z = log Qx - log Px (mod 255), since a data error e at
     * index z gives Px = e and Qx = g^z e. Every non-clean byte of the page must name the same
     * block. raid6check rejects z >= raid_disks; we reject z >= dataCount, the first index that
     * is not a data block.
     */
    private static SyndromeVerdict classifyPage(
            byte[] p, byte[] q, byte[] scratchP, byte[] scratchQ, int from, int to, int dataCount) {
        final byte[] log = GaloisField.LOG;
        SyndromeVerdict verdict = SyndromeVerdict.CLEAN;
        for (int i = from; i < to; i++) {
            final int px = (p[i] ^ scratchP[i]) & 0xff;
            final int qx = (q[i] ^ scratchQ[i]) & 0xff;
            if ((px | qx) == 0) {
                continue;
            }
            final SyndromeVerdict byteVerdict;
            if (qx == 0) {
                byteVerdict = SyndromeVerdict.P_BAD;
            } else if (px == 0) {
                byteVerdict = SyndromeVerdict.Q_BAD;
            } else {
                final int z = Math.floorMod((log[qx] & 0xff) - (log[px] & 0xff), GaloisField.ORDER);
                if (z >= dataCount) {
                    return SyndromeVerdict.UNKNOWN;
                }
                byteVerdict = SyndromeVerdict.dataBad(z);
            }
            if (verdict != SyndromeVerdict.CLEAN && verdict != byteVerdict) {
                return SyndromeVerdict.UNKNOWN;
            }
            verdict = byteVerdict;
        }
        return verdict;
    }

    /** D_a = P ^ (XOR of the other data): P stands in for the lost block in the XOR. */
    private void recoverDataFromP(byte[][] blocks, int dataCount, int a, int offset, int length) {
        final byte[] target = blocks[a];
        blocks[a] = blocks[dataCount];
        try {
            kernel.p(blocks, dataCount, target, offset, length);
        } finally {
            blocks[a] = target;
        }
    }

    /** recov.c raid6_datap_recov: P' into P's buffer, Q' into the lost block, then one fused pass. */
    private void recoverDataAndP(byte[][] blocks, int dataCount, int a, int offset, int length) {
        final byte[] p = blocks[dataCount];
        final byte[] q = blocks[dataCount + 1];
        final byte[] da = blocks[a];
        blocks[a] = null;
        try {
            kernel.pq(blocks, dataCount, p, da, offset, length);
        } finally {
            blocks[a] = da;
        }
        kernel.recoverDataAndP(GaloisField.inv(GaloisField.pow2(a)), p, q, da, offset, length);
    }

    /** recov.c raid6_2data_recov: P' and Q' into the lost blocks, then one fused pass. */
    private void recoverTwoData(byte[][] blocks, int dataCount, int a, int b, int offset, int length) {
        final byte[] da = blocks[a];
        final byte[] db = blocks[b];
        blocks[a] = null;
        blocks[b] = null;
        try {
            kernel.pq(blocks, dataCount, da, db, offset, length);
        } finally {
            blocks[a] = da;
            blocks[b] = db;
        }
        final int pCoefficient = GaloisField.exi(b - a);
        final int qCoefficient = GaloisField.inv(GaloisField.pow2(a) ^ GaloisField.pow2(b));
        kernel.recoverTwoData(
                pCoefficient, qCoefficient, blocks[dataCount], blocks[dataCount + 1], da, db, offset, length);
    }

    private static void checkStripe(byte[][] blocks, int dataCount) {
        // Beyond 255 data blocks the coefficients g^i repeat and Q no longer identifies a block.
        if (dataCount < 1 || dataCount > GaloisField.ORDER || blocks.length < dataCount + 2) {
            throw new IllegalArgumentException(
                    "need 1 <= dataCount <= 255 and dataCount + 2 blocks, got " + dataCount + " and " + blocks.length);
        }
        if (blocks[dataCount] == null || blocks[dataCount + 1] == null) {
            throw new IllegalArgumentException("P and Q must be buffers");
        }
    }

    private static void checkLost(byte[][] blocks, int index, int dataCount) {
        if (index < 0 || index > dataCount + 1) {
            throw new IllegalArgumentException("block " + index + " outside 0.." + (dataCount + 1));
        }
        if (blocks[index] == null) {
            throw new IllegalArgumentException("lost block " + index + " needs a buffer to be rebuilt into");
        }
    }
}
