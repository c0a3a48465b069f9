package io.raidd.raid.parity;

/**
 * Byte-at-a-time parity, written to read like md's C ({@code restripe.c qsyndrome}, {@code
 * recov.c}) rather than to be fast. It is the oracle every other kernel is tested against.
 */
public final class ReferenceKernel implements ParityKernel {

    public static final String NAME = "reference";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public void xorInto(byte[] src, byte[] dst, int offset, int length) {
        for (int i = offset; i < offset + length; i++) {
            dst[i] ^= src[i];
        }
    }

    @Override
    public void p(byte[][] data, int count, byte[] p, int offset, int length) {
        for (int d = offset; d < offset + length; d++) {
            int wp = 0;
            for (int z = 0; z < count; z++) {
                wp ^= byteAt(data[z], d);
            }
            p[d] = (byte) wp;
        }
    }

    @Override
    public void pq(byte[][] data, int count, byte[] p, byte[] q, int offset, int length) {
        for (int d = offset; d < offset + length; d++) {
            int wp = 0;
            int wq = 0;
            if (count > 0) {
                wp = wq = byteAt(data[count - 1], d);
            }
            for (int z = count - 2; z >= 0; z--) {
                int wd = byteAt(data[z], d);
                wp ^= wd;
                wq = GaloisField.x2(wq) ^ wd;
            }
            p[d] = (byte) wp;
            q[d] = (byte) wq;
        }
    }

    @Override
    public void mulXorInto(int coefficient, byte[] src, byte[] dst, int offset, int length) {
        for (int i = offset; i < offset + length; i++) {
            dst[i] ^= (byte) GaloisField.mul(coefficient, src[i]);
        }
    }

    @Override
    public void mul(int coefficient, byte[] src, byte[] dst, int offset, int length) {
        for (int i = offset; i < offset + length; i++) {
            dst[i] = (byte) GaloisField.mul(coefficient, src[i]);
        }
    }

    @Override
    public void recoverTwoData(
            int pCoefficient, int qCoefficient, byte[] p, byte[] q, byte[] da, byte[] db, int offset, int length) {
        for (int i = offset; i < offset + length; i++) {
            int px = (p[i] ^ da[i]) & 0xff;
            int qx = GaloisField.mul(qCoefficient, q[i] ^ db[i]);
            int b = GaloisField.mul(pCoefficient, px) ^ qx;
            db[i] = (byte) b;
            da[i] = (byte) (b ^ px);
        }
    }

    @Override
    public void recoverDataAndP(int qCoefficient, byte[] p, byte[] q, byte[] da, int offset, int length) {
        for (int i = offset; i < offset + length; i++) {
            int a = GaloisField.mul(qCoefficient, q[i] ^ da[i]);
            da[i] = (byte) a;
            p[i] ^= (byte) a;
        }
    }

    private static int byteAt(byte[] block, int index) {
        return block == null ? 0 : block[index] & 0xff;
    }
}
