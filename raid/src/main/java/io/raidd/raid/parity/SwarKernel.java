package io.raidd.raid.parity;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * Scalar kernel for JVMs without the Vector API: eight GF(2^8) lanes per {@code long} (SIMD within
 * a register), the same technique as the kernel's {@code lib/raid6/int.uc}. Longs are read from the
 * byte arrays through a little-endian view VarHandle; every operation here is bytewise, so the byte
 * order only has to be the same for loads and stores.
 */
public final class SwarKernel implements ParityKernel {

    public static final String NAME = "swar";

    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    private static final long LOW_SEVEN_BITS = 0x7f7f7f7f7f7f7f7fL;
    private static final long LOW_BIT = 0x0101010101010101L;
    private static final long REDUCTION = 0x1d;

    @Override
    public String name() {
        return NAME;
    }

    /**
     * Eight bytes times {02}. The carry out of each byte's bit 7 becomes that byte's bit 0 after the
     * right shift; multiplying by 0x1d spreads it into the reduction term without crossing lanes
     * (0x01 * 0x1d fits in a byte). Measured faster than int.uc's (v<<1)-(v>>7) mask on this JIT.
     */
    static long x2(long v) {
        return ((v & LOW_SEVEN_BITS) << 1) ^ (((v >>> 7) & LOW_BIT) * REDUCTION);
    }

    @Override
    public void xorInto(byte[] src, byte[] dst, int offset, int length) {
        final int end = offset + length;
        int i = offset;
        for (; i <= end - 32; i += 32) {
            LONGS.set(dst, i, (long) LONGS.get(dst, i) ^ (long) LONGS.get(src, i));
            LONGS.set(dst, i + 8, (long) LONGS.get(dst, i + 8) ^ (long) LONGS.get(src, i + 8));
            LONGS.set(dst, i + 16, (long) LONGS.get(dst, i + 16) ^ (long) LONGS.get(src, i + 16));
            LONGS.set(dst, i + 24, (long) LONGS.get(dst, i + 24) ^ (long) LONGS.get(src, i + 24));
        }
        for (; i <= end - 8; i += 8) {
            LONGS.set(dst, i, (long) LONGS.get(dst, i) ^ (long) LONGS.get(src, i));
        }
        for (; i < end; i++) {
            dst[i] ^= src[i];
        }
    }

    @Override
    public void p(byte[][] data, int count, byte[] p, int offset, int length) {
        final int end = offset + length;
        int i = offset;
        for (; i <= end - 32; i += 32) {
            long p0 = 0;
            long p1 = 0;
            long p2 = 0;
            long p3 = 0;
            for (int z = 0; z < count; z++) {
                final byte[] src = data[z];
                if (src != null) {
                    p0 ^= (long) LONGS.get(src, i);
                    p1 ^= (long) LONGS.get(src, i + 8);
                    p2 ^= (long) LONGS.get(src, i + 16);
                    p3 ^= (long) LONGS.get(src, i + 24);
                }
            }
            LONGS.set(p, i, p0);
            LONGS.set(p, i + 8, p1);
            LONGS.set(p, i + 16, p2);
            LONGS.set(p, i + 24, p3);
        }
        for (; i <= end - 8; i += 8) {
            long p0 = 0;
            for (int z = 0; z < count; z++) {
                final byte[] src = data[z];
                if (src != null) {
                    p0 ^= (long) LONGS.get(src, i);
                }
            }
            LONGS.set(p, i, p0);
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
        final int end = offset + length;
        int i = offset;
        // Two words per step: each Horner chain is a serial dependency, two hide its latency.
        for (; i <= end - 16; i += 16) {
            long p0 = 0;
            long p1 = 0;
            long q0 = 0;
            long q1 = 0;
            for (int z = count - 1; z >= 0; z--) {
                q0 = x2(q0);
                q1 = x2(q1);
                final byte[] src = data[z];
                if (src != null) {
                    final long d0 = (long) LONGS.get(src, i);
                    final long d1 = (long) LONGS.get(src, i + 8);
                    p0 ^= d0;
                    p1 ^= d1;
                    q0 ^= d0;
                    q1 ^= d1;
                }
            }
            LONGS.set(p, i, p0);
            LONGS.set(p, i + 8, p1);
            LONGS.set(q, i, q0);
            LONGS.set(q, i + 8, q1);
        }
        for (; i <= end - 8; i += 8) {
            long p0 = 0;
            long q0 = 0;
            for (int z = count - 1; z >= 0; z--) {
                q0 = x2(q0);
                final byte[] src = data[z];
                if (src != null) {
                    final long d0 = (long) LONGS.get(src, i);
                    p0 ^= d0;
                    q0 ^= d0;
                }
            }
            LONGS.set(p, i, p0);
            LONGS.set(q, i, q0);
        }
        for (; i < end; i++) {
            int wp = 0;
            int wq = 0;
            for (int z = count - 1; z >= 0; z--) {
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

    // A general constant multiply has no cheap SWAR form (bit-serial costs 8 doublings per word),
    // so the multiplies index the 64 KiB product table's row for the constant, a byte at a time.

    @Override
    public void mulXorInto(int coefficient, byte[] src, byte[] dst, int offset, int length) {
        final byte[] table = GaloisField.MUL;
        final int row = (coefficient & 0xff) << 8;
        for (int i = offset, end = offset + length; i < end; i++) {
            dst[i] ^= table[row | src[i] & 0xff];
        }
    }

    @Override
    public void mul(int coefficient, byte[] src, byte[] dst, int offset, int length) {
        final byte[] table = GaloisField.MUL;
        final int row = (coefficient & 0xff) << 8;
        for (int i = offset, end = offset + length; i < end; i++) {
            dst[i] = table[row | src[i] & 0xff];
        }
    }

    @Override
    public void recoverTwoData(
            int pCoefficient, int qCoefficient, byte[] p, byte[] q, byte[] da, byte[] db, int offset, int length) {
        final byte[] table = GaloisField.MUL;
        final int pRow = (pCoefficient & 0xff) << 8;
        final int qRow = (qCoefficient & 0xff) << 8;
        for (int i = offset, end = offset + length; i < end; i++) {
            final int px = (p[i] ^ da[i]) & 0xff;
            final int b = table[pRow | px] ^ table[qRow | (q[i] ^ db[i]) & 0xff];
            db[i] = (byte) b;
            da[i] = (byte) (b ^ px);
        }
    }

    @Override
    public void recoverDataAndP(int qCoefficient, byte[] p, byte[] q, byte[] da, int offset, int length) {
        final byte[] table = GaloisField.MUL;
        final int qRow = (qCoefficient & 0xff) << 8;
        for (int i = offset, end = offset + length; i < end; i++) {
            final byte a = table[qRow | (q[i] ^ da[i]) & 0xff];
            da[i] = a;
            p[i] ^= a;
        }
    }
}
