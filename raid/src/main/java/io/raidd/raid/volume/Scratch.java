package io.raidd.raid.volume;

import java.nio.ByteBuffer;

/**
 * Per-thread working buffers for stripe operations: one block per member plus two spares, grown on
 * demand and reused, so the steady-state write path allocates nothing large.
 */
final class Scratch {
    private static final ThreadLocal<Scratch> CURRENT = ThreadLocal.withInitial(Scratch::new);

    private byte[][] blocks = new byte[0][];
    private byte[] spareA = new byte[0];
    private byte[] spareB = new byte[0];

    private ByteBuffer directParity = ByteBuffer.allocateDirect(0);

    static Scratch get() {
        return CURRENT.get();
    }

    /** {@code count} blocks of at least {@code lengthBytes}; contents are stale. */
    byte[][] blocks(int count, int lengthBytes) {
        if (blocks.length < count) {
            byte[][] grown = new byte[count][];
            System.arraycopy(blocks, 0, grown, 0, blocks.length);
            blocks = grown;
        }
        for (int i = 0; i < count; i++) {
            if (blocks[i] == null || blocks[i].length < lengthBytes) {
                blocks[i] = new byte[lengthBytes];
            }
        }
        return blocks;
    }

    /**
     * A direct buffer of {@code lengthBytes} (position 0, limit {@code lengthBytes}) for parity that
     * goes straight to a member: written from a heap array, the JDK would copy it to a direct
     * buffer first.
     */
    ByteBuffer directParity(int lengthBytes) {
        if (directParity.capacity() < lengthBytes) {
            directParity = ByteBuffer.allocateDirect(lengthBytes);
        }
        return directParity.clear().limit(lengthBytes);
    }

    byte[] spareA(int lengthBytes) {
        if (spareA.length < lengthBytes) {
            spareA = new byte[lengthBytes];
        }
        return spareA;
    }

    byte[] spareB(int lengthBytes) {
        if (spareB.length < lengthBytes) {
            spareB = new byte[lengthBytes];
        }
        return spareB;
    }
}
