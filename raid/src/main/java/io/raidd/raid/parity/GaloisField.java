package io.raidd.raid.parity;

/**
 * GF(2^8) with md's reducing polynomial x^8+x^4+x^3+x^2+1 (0x11d) and generator {02}. The tables
 * are built at class initialisation by the same procedure as the kernel's {@code
 * lib/raid6/mktables.c} (and mdadm's {@code restripe.c make_tables}), so every entry, including the
 * conventional ones for zero, is md's.
 *
 * <p>Elements are ints in 0..255 at the API; the tables hold bytes to stay small in cache.
 */
public final class GaloisField {

    /** x^8 + x^4 + x^3 + x^2 + 1. */
    public static final int POLYNOMIAL = 0x11d;

    public static final int GENERATOR = 0x02;

    /** Order of the multiplicative group: g^255 = 1. */
    public static final int ORDER = 255;

    /** {@code MUL[a << 8 | b] = a * b} (md: raid6_gfmul[a][b]). */
    static final byte[] MUL = new byte[256 * 256];

    /** {@code EXP[i] = g^i} for i in 0..254; EXP[255] = 0 (md: raid6_gfexp, "not a real entry"). */
    static final byte[] EXP = new byte[256];

    /** {@code LOG[x] = i with g^i = x}; LOG[0] = 0xff as mktables.c leaves it (md: raid6_gflog). */
    static final byte[] LOG = new byte[256];

    /** {@code INV[x] = x^254}; INV[0] = 0 (md: raid6_gfinv). */
    static final byte[] INV = new byte[256];

    /** {@code EXI[i] = inv(g^i + 1)} (md: raid6_gfexi); used by two-data recovery. */
    static final byte[] EXI = new byte[256];

    /**
     * Split-nibble tables (md: raid6_vgfmul): {@code NIBBLES[c << 5 | n] = c * n} and {@code
     * NIBBLES[c << 5 | 16 | n] = c * (n << 4)}, so c * x = low[x & 15] ^ high[x >> 4].
     */
    static final byte[] NIBBLES = new byte[256 * 32];

    static {
        for (int a = 0; a < 256; a++) {
            for (int b = 0; b < 256; b++) {
                MUL[a << 8 | b] = (byte) slowMul(a, b);
            }
        }
        int v = 1;
        for (int i = 0; i < 256; i++) {
            EXP[i] = (byte) v;
            v = slowMul(v, GENERATOR);
            if (v == 1) {
                v = 0;
            }
        }
        for (int x = 0; x < 256; x++) {
            int log = 255;
            for (int i = 0; i < 256; i++) {
                if ((EXP[i] & 0xff) == x) {
                    log = i;
                    break;
                }
            }
            LOG[x] = (byte) log;
        }
        for (int x = 0; x < 256; x++) {
            INV[x] = (byte) slowPow(x, 254);
        }
        for (int i = 0; i < 256; i++) {
            EXI[i] = INV[(EXP[i] & 0xff) ^ 1];
        }
        for (int c = 0; c < 256; c++) {
            for (int n = 0; n < 16; n++) {
                NIBBLES[c << 5 | n] = MUL[c << 8 | n];
                NIBBLES[c << 5 | 16 | n] = MUL[c << 8 | n << 4];
            }
        }
    }

    private GaloisField() {}

    /** a * b. */
    public static int mul(int a, int b) {
        return MUL[(a & 0xff) << 8 | (b & 0xff)] & 0xff;
    }

    /** g^i for any i (negative allowed): the group is cyclic of order 255. */
    public static int pow2(int i) {
        return EXP[Math.floorMod(i, ORDER)] & 0xff;
    }

    /** md's raw exponent table entry, including EXP[255] = 0. */
    public static int exp(int i) {
        return EXP[i] & 0xff;
    }

    /** Discrete log base g; log(0) = 255 as in md's table (undefined mathematically). */
    public static int log(int x) {
        return LOG[x & 0xff] & 0xff;
    }

    /** Multiplicative inverse; inv(0) = 0 as in md's table. */
    public static int inv(int x) {
        return INV[x & 0xff] & 0xff;
    }

    /** inv(g^i + 1), md's raid6_gfexi. */
    public static int exi(int i) {
        return EXI[i & 0xff] & 0xff;
    }

    /** Multiply by the generator {02}: md's x2 as used in every syndrome loop. */
    public static int x2(int a) {
        return ((a << 1) ^ ((a & 0x80) != 0 ? 0x1d : 0)) & 0xff;
    }

    /** mktables.c gfmul: shift-and-add, reducing by 0x1d on each carry out of bit 7. */
    private static int slowMul(int a, int b) {
        int v = 0;
        while (b != 0) {
            if ((b & 1) != 0) {
                v ^= a;
            }
            a = x2(a);
            b >>>= 1;
        }
        return v;
    }

    /** mktables.c gfpow. */
    private static int slowPow(int a, int b) {
        int v = 1;
        b %= 255;
        while (b != 0) {
            if ((b & 1) != 0) {
                v = slowMul(v, a);
            }
            a = slowMul(a, a);
            b >>>= 1;
        }
        return v;
    }
}
