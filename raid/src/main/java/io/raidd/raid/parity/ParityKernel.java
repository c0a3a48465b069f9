package io.raidd.raid.parity;

/**
 * Parity arithmetic over byte arrays: XOR for P and GF(2^8) (polynomial 0x11d, generator {02}) for
 * Q, exactly as Linux md computes them. Every array argument is addressed at the same {@code
 * offset} for {@code length} bytes. Implementations allocate nothing and are stateless, so one
 * instance serves every thread.
 */
public interface ParityKernel {

    String name();

    /** {@code dst ^= src}. */
    void xorInto(byte[] src, byte[] dst, int offset, int length);

    /** {@code p = data[0] ^ ... ^ data[count-1]}. */
    void p(byte[][] data, int count, byte[] p, int offset, int length);

    /**
     * {@code p = XOR of data}, {@code q = sum of g^i * data[i]}; {@code data} is in md's syndrome
     * order. A {@code null} element stands for an all-zero block.
     */
    void pq(byte[][] data, int count, byte[] p, byte[] q, int offset, int length);

    /** {@code dst ^= c * src} in GF(2^8). */
    void mulXorInto(int coefficient, byte[] src, byte[] dst, int offset, int length);

    /** {@code dst = c * src} in GF(2^8); {@code src == dst} is allowed. */
    void mul(int coefficient, byte[] src, byte[] dst, int offset, int length);
}
