package io.raidd.raid.member;

import java.nio.ByteBuffer;

/**
 * Per-thread working buffers for stripe operations: one block per member plus two spares, grown on
 * demand and reused, so the steady-state write path allocates nothing large; and the bounce buffer
 * member reads into memory that is not the reading thread's own go through.
 *
 * <p>A member read into a thread's blocks that times out may still land in them later (the member
 * thread is stuck in the kernel); {@link #discard} then gives the thread fresh blocks and leaves the
 * old ones to that late read.
 */
public final class Scratch {
    private static final ThreadLocal<Scratch> CURRENT = ThreadLocal.withInitial(Scratch::new);

    private byte[][] blocks = new byte[0][];
    private byte[] spareA = new byte[0];
    private byte[] spareB = new byte[0];

    private ByteBuffer directParity = ByteBuffer.allocateDirect(0);
    private ByteBuffer bounce = ByteBuffer.allocateDirect(0);
    private ByteBuffer[] direct = new ByteBuffer[0];

    /**
     * {@code count} direct buffers of at least {@code lengthBytes} (position 0, limit {@code
     * lengthBytes}); contents are stale. Member reads and writes from them cost the JDK no copy
     * through a temporary direct buffer, as heap arrays do.
     */
    public ByteBuffer[] directBlocks(int count, int lengthBytes) {
        if (direct.length < count) {
            direct = java.util.Arrays.copyOf(direct, count);
        }
        for (int i = 0; i < count; i++) {
            if (direct[i] == null || direct[i].capacity() < lengthBytes) {
                direct[i] = ByteBuffer.allocateDirect(lengthBytes);
            }
            direct[i].clear().limit(lengthBytes);
        }
        return direct;
    }

    /** Drops this thread's blocks: a member read that timed out may still write into them. */
    public static void discard() {
        CURRENT.set(new Scratch());
    }

    /**
     * A direct buffer of {@code lengthBytes} for a member read whose destination belongs to
     * someone else: read here, then copied over only if the reader has not given up meanwhile.
     */
    ByteBuffer bounce(int lengthBytes) {
        if (bounce.capacity() < lengthBytes) {
            bounce = ByteBuffer.allocateDirect(lengthBytes);
        }
        return bounce.clear().limit(lengthBytes);
    }

    public static Scratch get() {
        return CURRENT.get();
    }

    /** {@code count} blocks of at least {@code lengthBytes}; contents are stale. */
    public byte[][] blocks(int count, int lengthBytes) {
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
    public ByteBuffer directParity(int lengthBytes) {
        if (directParity.capacity() < lengthBytes) {
            directParity = ByteBuffer.allocateDirect(lengthBytes);
        }
        return directParity.clear().limit(lengthBytes);
    }

    public byte[] spareA(int lengthBytes) {
        if (spareA.length < lengthBytes) {
            spareA = new byte[lengthBytes];
        }
        return spareA;
    }

    public byte[] spareB(int lengthBytes) {
        if (spareB.length < lengthBytes) {
            spareB = new byte[lengthBytes];
        }
        return spareB;
    }
}
