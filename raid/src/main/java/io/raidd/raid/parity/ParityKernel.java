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

    /** {@code p = data[0] ^ ... ^ data[count-1]}. A {@code null} element stands for an all-zero block. */
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

    /**
     * The per-byte half of md's two-data recovery ({@code lib/raid6/recov.c raid6_2data_recov}),
     * fused into one pass. On entry {@code da} and {@code db} hold P' and Q', the syndromes of the
     * stripe computed with both lost blocks as zero; on exit they hold the lost blocks: {@code db =
     * pCoefficient * (p ^ P') ^ qCoefficient * (q ^ Q')} and {@code da = db ^ p ^ P'}. For lost
     * syndrome indices a < b, pCoefficient is {@code exi(b - a)} and qCoefficient is {@code inv(g^a ^
     * g^b)}.
     */
    void recoverTwoData(
            int pCoefficient, int qCoefficient, byte[] p, byte[] q, byte[] da, byte[] db, int offset, int length);

    /**
     * The per-byte half of md's data+P recovery ({@code raid6_datap_recov}). On entry {@code p} holds
     * P' and {@code da} holds Q', both computed with the lost block as zero; on exit {@code da =
     * qCoefficient * (q ^ Q')} is the lost block and {@code p = P' ^ da} is P again. For lost
     * syndrome index a, qCoefficient is {@code inv(g^a)}.
     */
    void recoverDataAndP(int qCoefficient, byte[] p, byte[] q, byte[] da, int offset, int length);
}
