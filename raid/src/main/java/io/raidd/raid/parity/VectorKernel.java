package io.raidd.raid.parity;

import static jdk.incubator.vector.VectorOperators.LSHR;
import static jdk.incubator.vector.VectorOperators.LT;
import static jdk.incubator.vector.VectorOperators.XOR;

import java.util.Arrays;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * Parity with the incubating Vector API at the platform's preferred width (64 bytes with
 * AVX-512). Only array loads and stores are used: the ByteBuffer/MemorySegment entry points differ
 * between JDK 17 and 25. Bytes past the last whole vector go through a scalar tail.
 *
 * <p>This class links against {@code jdk.incubator.vector}; {@link ParityKernels} loads it
 * reflectively and only when that module is in the boot layer.
 *
 * <p>Choices, measured with JMH on JDK 17 and 25 (GfMultiplyOptionsBenchmark, bench/README.md):
 * multiply-by-{02} is add-to-self plus an XOR with a 0x1d-or-0 vector blended under the sign mask
 * (the arithmetic-shift and SWAR-multiply forms run at a third to half the speed: x86 has no byte
 * shifts); a constant multiply is two 16-entry nibble lookups with {@code selectFrom}, as fast as
 * {@code rearrange(toShuffle())} on JDK 17 and twice as fast on JDK 25, the high nibble extracted
 * with a 16-bit shift because the JIT's emulated byte shift is slower. The Vector API has no
 * operation that reaches GFNI's affine instruction, so GFNI is not used.
 */
public final class VectorKernel implements ParityKernel {

    public static final String NAME = "vector";

    private static final VectorSpecies<Byte> SPECIES = ByteVector.SPECIES_PREFERRED;
    private static final int LANES = SPECIES.length();
    private static final int NIBBLE_ENTRIES = 16;
    private static final byte REDUCTION = 0x1d;
    private static final byte LOW_NIBBLE = 0x0f;

    /**
     * Per coefficient c, two vectors of LANES bytes: c * n and c * (n << 4) for n = lane % 16. The
     * 16-entry pattern is repeated so a lookup is correct whether the permute is lane-wide or
     * per-128-bit-lane.
     */
    private static final byte[] NIBBLE_VECTORS = nibbleVectors();

    /**
     * Stands in for a {@code null} (all-zero) block: the kernels pick the array and index as
     * scalars and always load. Branching around the vector load instead makes C2 box the vectors
     * where the paths merge (measured: 786 KB allocated per 512 KiB pq with nulls on JDK 17).
     */
    private static final byte[] ZEROS = new byte[2 * LANES];

    private static final ByteVector ZERO = ByteVector.zero(SPECIES);

    public VectorKernel() {
        if (!isSupported()) {
            throw new UnsupportedOperationException("preferred byte species has " + LANES + " lanes, need 16");
        }
    }

    /** The nibble lookups index 16 lanes, so narrower vectors (or none) cannot run this kernel. */
    public static boolean isSupported() {
        return LANES >= NIBBLE_ENTRIES;
    }

    /** Bits per vector of the species this kernel runs on. */
    public static int vectorBits() {
        return SPECIES.vectorBitSize();
    }

    @Override
    public String name() {
        return NAME;
    }

    private static ByteVector x2(ByteVector v) {
        final VectorMask<Byte> carry = v.compare(LT, (byte) 0);
        return v.add(v).lanewise(XOR, ZERO.blend(REDUCTION, carry));
    }

    private static ByteVector mul(ByteVector v, ByteVector lowTable, ByteVector highTable) {
        final ByteVector low = v.and(LOW_NIBBLE);
        final ByteVector high =
                v.reinterpretAsShorts().lanewise(LSHR, 4).reinterpretAsBytes().and(LOW_NIBBLE);
        return low.selectFrom(lowTable).lanewise(XOR, high.selectFrom(highTable));
    }

    private static ByteVector lowTable(int coefficient) {
        return ByteVector.fromArray(SPECIES, NIBBLE_VECTORS, (coefficient & 0xff) * 2 * LANES);
    }

    private static ByteVector highTable(int coefficient) {
        return ByteVector.fromArray(SPECIES, NIBBLE_VECTORS, (coefficient & 0xff) * 2 * LANES + LANES);
    }

    @Override
    public void xorInto(byte[] src, byte[] dst, int offset, int length) {
        final int end = offset + length;
        int i = offset;
        for (; i <= end - 2 * LANES; i += 2 * LANES) {
            ByteVector.fromArray(SPECIES, dst, i)
                    .lanewise(XOR, ByteVector.fromArray(SPECIES, src, i))
                    .intoArray(dst, i);
            ByteVector.fromArray(SPECIES, dst, i + LANES)
                    .lanewise(XOR, ByteVector.fromArray(SPECIES, src, i + LANES))
                    .intoArray(dst, i + LANES);
        }
        for (; i <= end - LANES; i += LANES) {
            ByteVector.fromArray(SPECIES, dst, i)
                    .lanewise(XOR, ByteVector.fromArray(SPECIES, src, i))
                    .intoArray(dst, i);
        }
        for (; i < end; i++) {
            dst[i] ^= src[i];
        }
    }

    @Override
    public void p(byte[][] data, int count, byte[] p, int offset, int length) {
        if (count == 0) {
            Arrays.fill(p, offset, offset + length, (byte) 0);
            return;
        }
        final int end = offset + length;
        int i = offset;
        for (; i <= end - 2 * LANES; i += 2 * LANES) {
            final byte[] first = data[0];
            final byte[] firstArray = first != null ? first : ZEROS;
            final int firstIndex = first != null ? i : 0;
            ByteVector p0 = ByteVector.fromArray(SPECIES, firstArray, firstIndex);
            ByteVector p1 = ByteVector.fromArray(SPECIES, firstArray, firstIndex + LANES);
            for (int z = 1; z < count; z++) {
                final byte[] src = data[z];
                final byte[] array = src != null ? src : ZEROS;
                final int index = src != null ? i : 0;
                p0 = p0.lanewise(XOR, ByteVector.fromArray(SPECIES, array, index));
                p1 = p1.lanewise(XOR, ByteVector.fromArray(SPECIES, array, index + LANES));
            }
            p0.intoArray(p, i);
            p1.intoArray(p, i + LANES);
        }
        for (; i <= end - LANES; i += LANES) {
            final byte[] first = data[0];
            ByteVector p0 = ByteVector.fromArray(SPECIES, first != null ? first : ZEROS, first != null ? i : 0);
            for (int z = 1; z < count; z++) {
                final byte[] src = data[z];
                p0 = p0.lanewise(XOR, ByteVector.fromArray(SPECIES, src != null ? src : ZEROS, src != null ? i : 0));
            }
            p0.intoArray(p, i);
        }
        for (; i < end; i++) {
            int wp = 0;
            for (int z = 0; z < count; z++) {
                final byte[] src = data[z];
                if (src != null) {
                    wp ^= src[i];
                }
            }
            p[i] = (byte) wp;
        }
    }

    @Override
    public void pq(byte[][] data, int count, byte[] p, byte[] q, int offset, int length) {
        if (count == 0) {
            Arrays.fill(p, offset, offset + length, (byte) 0);
            Arrays.fill(q, offset, offset + length, (byte) 0);
            return;
        }
        final int end = offset + length;
        final int top = count - 1;
        int i = offset;
        // Two vectors per step: each Horner chain is serial, two keep the vector units busy.
        for (; i <= end - 2 * LANES; i += 2 * LANES) {
            final byte[] first = data[top];
            final byte[] firstArray = first != null ? first : ZEROS;
            final int firstIndex = first != null ? i : 0;
            ByteVector p0 = ByteVector.fromArray(SPECIES, firstArray, firstIndex);
            ByteVector p1 = ByteVector.fromArray(SPECIES, firstArray, firstIndex + LANES);
            ByteVector q0 = p0;
            ByteVector q1 = p1;
            for (int z = top - 1; z >= 0; z--) {
                final byte[] src = data[z];
                final byte[] array = src != null ? src : ZEROS;
                final int index = src != null ? i : 0;
                final ByteVector d0 = ByteVector.fromArray(SPECIES, array, index);
                final ByteVector d1 = ByteVector.fromArray(SPECIES, array, index + LANES);
                p0 = p0.lanewise(XOR, d0);
                p1 = p1.lanewise(XOR, d1);
                q0 = x2(q0).lanewise(XOR, d0);
                q1 = x2(q1).lanewise(XOR, d1);
            }
            p0.intoArray(p, i);
            p1.intoArray(p, i + LANES);
            q0.intoArray(q, i);
            q1.intoArray(q, i + LANES);
        }
        for (; i <= end - LANES; i += LANES) {
            final byte[] first = data[top];
            ByteVector p0 = ByteVector.fromArray(SPECIES, first != null ? first : ZEROS, first != null ? i : 0);
            ByteVector q0 = p0;
            for (int z = top - 1; z >= 0; z--) {
                final byte[] src = data[z];
                final ByteVector d0 = ByteVector.fromArray(SPECIES, src != null ? src : ZEROS, src != null ? i : 0);
                p0 = p0.lanewise(XOR, d0);
                q0 = x2(q0).lanewise(XOR, d0);
            }
            p0.intoArray(p, i);
            q0.intoArray(q, i);
        }
        for (; i < end; i++) {
            int wp = 0;
            int wq = 0;
            for (int z = top; z >= 0; z--) {
                wq = GaloisField.x2(wq);
                final byte[] src = data[z];
                if (src != null) {
                    wp ^= src[i] & 0xff;
                    wq ^= src[i] & 0xff;
                }
            }
            p[i] = (byte) wp;
            q[i] = (byte) wq;
        }
    }

    @Override
    public void mulXorInto(int coefficient, byte[] src, byte[] dst, int offset, int length) {
        final ByteVector lowTable = lowTable(coefficient);
        final ByteVector highTable = highTable(coefficient);
        final int end = offset + length;
        int i = offset;
        for (; i <= end - LANES; i += LANES) {
            mul(ByteVector.fromArray(SPECIES, src, i), lowTable, highTable)
                    .lanewise(XOR, ByteVector.fromArray(SPECIES, dst, i))
                    .intoArray(dst, i);
        }
        final byte[] table = GaloisField.MUL;
        final int row = (coefficient & 0xff) << 8;
        for (; i < end; i++) {
            dst[i] ^= table[row | src[i] & 0xff];
        }
    }

    @Override
    public void mul(int coefficient, byte[] src, byte[] dst, int offset, int length) {
        final ByteVector lowTable = lowTable(coefficient);
        final ByteVector highTable = highTable(coefficient);
        final int end = offset + length;
        int i = offset;
        for (; i <= end - LANES; i += LANES) {
            mul(ByteVector.fromArray(SPECIES, src, i), lowTable, highTable).intoArray(dst, i);
        }
        final byte[] table = GaloisField.MUL;
        final int row = (coefficient & 0xff) << 8;
        for (; i < end; i++) {
            dst[i] = table[row | src[i] & 0xff];
        }
    }

    @Override
    public void recoverTwoData(
            int pCoefficient, int qCoefficient, byte[] p, byte[] q, byte[] da, byte[] db, int offset, int length) {
        // Two passes of one constant each: with all four tables live in one loop JDK 17's C2 boxed
        // them (384 B per call, 7.2 vs 8.6 GB/s here); JDK 25 runs the single loop ~20% faster,
        // but allocating nothing on both JDKs matters more.
        final int vectorEnd = offset + (length - length % LANES);
        scaleDelta(qCoefficient, q, db, offset, vectorEnd);
        combine(pCoefficient, p, da, db, offset, vectorEnd);
        final byte[] table = GaloisField.MUL;
        final int pRow = (pCoefficient & 0xff) << 8;
        final int qRow = (qCoefficient & 0xff) << 8;
        for (int i = vectorEnd; i < offset + length; i++) {
            final int px = (p[i] ^ da[i]) & 0xff;
            final int b = table[pRow | px] ^ table[qRow | (q[i] ^ db[i]) & 0xff];
            db[i] = (byte) b;
            da[i] = (byte) (b ^ px);
        }
    }

    /** {@code db = c * (q ^ db)} over whole vectors. */
    private static void scaleDelta(int coefficient, byte[] q, byte[] db, int from, int to) {
        final ByteVector low = lowTable(coefficient);
        final ByteVector high = highTable(coefficient);
        for (int i = from; i < to; i += LANES) {
            final ByteVector qx =
                    ByteVector.fromArray(SPECIES, q, i).lanewise(XOR, ByteVector.fromArray(SPECIES, db, i));
            mul(qx, low, high).intoArray(db, i);
        }
    }

    /** {@code px = p ^ da; db ^= c * px; da = db ^ px} over whole vectors. */
    private static void combine(int coefficient, byte[] p, byte[] da, byte[] db, int from, int to) {
        final ByteVector low = lowTable(coefficient);
        final ByteVector high = highTable(coefficient);
        for (int i = from; i < to; i += LANES) {
            final ByteVector px =
                    ByteVector.fromArray(SPECIES, p, i).lanewise(XOR, ByteVector.fromArray(SPECIES, da, i));
            final ByteVector b = mul(px, low, high).lanewise(XOR, ByteVector.fromArray(SPECIES, db, i));
            b.intoArray(db, i);
            b.lanewise(XOR, px).intoArray(da, i);
        }
    }

    @Override
    public void recoverDataAndP(int qCoefficient, byte[] p, byte[] q, byte[] da, int offset, int length) {
        final ByteVector qLow = lowTable(qCoefficient);
        final ByteVector qHigh = highTable(qCoefficient);
        final int end = offset + length;
        int i = offset;
        for (; i <= end - LANES; i += LANES) {
            final ByteVector qx =
                    ByteVector.fromArray(SPECIES, q, i).lanewise(XOR, ByteVector.fromArray(SPECIES, da, i));
            final ByteVector a = mul(qx, qLow, qHigh);
            a.intoArray(da, i);
            a.lanewise(XOR, ByteVector.fromArray(SPECIES, p, i)).intoArray(p, i);
        }
        final byte[] table = GaloisField.MUL;
        final int qRow = (qCoefficient & 0xff) << 8;
        for (; i < end; i++) {
            final byte a = table[qRow | (q[i] ^ da[i]) & 0xff];
            da[i] = a;
            p[i] ^= a;
        }
    }

    private static byte[] nibbleVectors() {
        final byte[] vectors = new byte[256 * 2 * LANES];
        for (int c = 0; c < 256; c++) {
            for (int lane = 0; lane < LANES; lane++) {
                final int n = lane % NIBBLE_ENTRIES;
                vectors[c * 2 * LANES + lane] = GaloisField.NIBBLES[c << 5 | n];
                vectors[c * 2 * LANES + LANES + lane] = GaloisField.NIBBLES[c << 5 | 16 | n];
            }
        }
        return vectors;
    }
}
