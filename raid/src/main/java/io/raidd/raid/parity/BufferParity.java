package io.raidd.raid.parity;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * P (the XOR of the data) computed straight from {@link ByteBuffer}s: a write's new bytes as the
 * network delivered them, usually direct buffers. The array kernels need a heap copy of every data
 * byte first; for a full-stripe RAID-5 write that copy cost more than the parity itself.
 *
 * <p>The loops read {@code long}s with {@link ByteBuffer#getLong(int)} in a fixed number of sources
 * per pass (four, then three at a time folded into P), which C2 turns into vector code; a loop over a
 * variable number of sources, or a {@code byteBufferViewVarHandle}, does not vectorise and ran at a
 * quarter of the speed (JMH, {@code DirectParityBenchmark} in bench/). Measured on one 64 KiB window
 * of four 64 KiB direct sources out of cache: 23-26 µs, against 42-53 µs for copying to the heap and
 * running the vector kernel.
 *
 * <p>XOR is bytewise, so byte order only has to agree between loads and stores; every buffer is read
 * and written through a little-endian view. Only positions and limits of those views change, never
 * the callers' buffers.
 */
public final class BufferParity {

    private BufferParity() {}

    /**
     * {@code p = src[0] ^ ... ^ src[count - 1]} over {@code length} bytes, each buffer from its
     * position. {@code count} is at least 1. A direct {@code p} can go to a file without the JDK
     * copying it to a direct buffer first.
     */
    public static void p(ByteBuffer[] src, int count, ByteBuffer p, int length) {
        if (count < 1) {
            throw new IllegalArgumentException("P needs at least one source");
        }
        if (p.remaining() < length) {
            throw new IllegalArgumentException("P has room for " + p.remaining() + " bytes, need " + length);
        }
        ByteBuffer dst = p.slice().order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer[] s = new ByteBuffer[count];
        for (int z = 0; z < count; z++) {
            if (src[z].remaining() < length) {
                throw new IllegalArgumentException(
                        "source " + z + " has " + src[z].remaining() + " bytes, need " + length);
            }
            s[z] = src[z].slice().order(ByteOrder.LITTLE_ENDIAN);
        }
        int longs = length & ~7;
        int z = Math.min(count, 4);
        switch (z) {
            case 1 -> copy(s[0], dst, longs);
            case 2 -> set2(s[0], s[1], dst, longs);
            case 3 -> set3(s[0], s[1], s[2], dst, longs);
            default -> set4(s[0], s[1], s[2], s[3], dst, longs);
        }
        for (; z + 3 <= count; z += 3) {
            fold3(s[z], s[z + 1], s[z + 2], dst, longs);
        }
        for (; z < count; z++) {
            fold1(s[z], dst, longs);
        }
        for (int i = longs; i < length; i++) {
            int b = 0;
            for (int y = 0; y < count; y++) {
                b ^= s[y].get(i);
            }
            dst.put(i, (byte) b);
        }
    }

    private static void copy(ByteBuffer a, ByteBuffer dst, int length) {
        dst.put(0, a, 0, length);
    }

    private static void set2(ByteBuffer a, ByteBuffer b, ByteBuffer dst, int length) {
        for (int i = 0; i < length; i += 8) {
            dst.putLong(i, a.getLong(i) ^ b.getLong(i));
        }
    }

    private static void set3(ByteBuffer a, ByteBuffer b, ByteBuffer c, ByteBuffer dst, int length) {
        for (int i = 0; i < length; i += 8) {
            dst.putLong(i, a.getLong(i) ^ b.getLong(i) ^ c.getLong(i));
        }
    }

    private static void set4(ByteBuffer a, ByteBuffer b, ByteBuffer c, ByteBuffer d, ByteBuffer dst, int length) {
        for (int i = 0; i < length; i += 8) {
            dst.putLong(i, a.getLong(i) ^ b.getLong(i) ^ c.getLong(i) ^ d.getLong(i));
        }
    }

    private static void fold3(ByteBuffer a, ByteBuffer b, ByteBuffer c, ByteBuffer dst, int length) {
        for (int i = 0; i < length; i += 8) {
            dst.putLong(i, dst.getLong(i) ^ a.getLong(i) ^ b.getLong(i) ^ c.getLong(i));
        }
    }

    private static void fold1(ByteBuffer a, ByteBuffer dst, int length) {
        for (int i = 0; i < length; i += 8) {
            dst.putLong(i, dst.getLong(i) ^ a.getLong(i));
        }
    }
}
