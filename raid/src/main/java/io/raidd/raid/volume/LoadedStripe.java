package io.raidd.raid.volume;

/**
 * One stripe read into memory by {@link StripeAccess#load}: a block per position, which positions
 * could not be read, and where each position lives on its member. Blocks belong to the loading
 * thread's scratch space and are valid until that thread loads again.
 */
public final class LoadedStripe {
    final long stripe;
    final int lengthBytes;
    final byte[][] blocks;
    final boolean[] unreadable;
    /** The member slot of each position. */
    final int[] slots;
    /** Where each position starts in its member's data area. */
    final long[] memberOffsets;

    final StripeView view;
    /** Engine-specific companion state (RAID-4/5/6: the blocks in syndrome order). */
    Object engineState;

    LoadedStripe(long stripe, int lengthBytes, byte[][] blocks, int[] slots, long[] memberOffsets, StripeView view) {
        this.stripe = stripe;
        this.lengthBytes = lengthBytes;
        this.blocks = blocks;
        this.slots = slots;
        this.memberOffsets = memberOffsets;
        this.unreadable = new boolean[slots.length];
        this.view = view;
    }

    public long stripe() {
        return stripe;
    }

    public int positions() {
        return slots.length;
    }

    public int lengthBytes() {
        return lengthBytes;
    }

    /** The block at {@code position} (only its first {@link #lengthBytes} bytes are the stripe's). */
    public byte[] block(int position) {
        return blocks[position];
    }

    public boolean unreadable(int position) {
        return unreadable[position];
    }

    public int slot(int position) {
        return slots[position];
    }

    public long memberOffsetBytes(int position) {
        return memberOffsets[position];
    }

    /** How many positions could not be read. */
    public int unreadableCount() {
        int n = 0;
        for (boolean u : unreadable) {
            n += u ? 1 : 0;
        }
        return n;
    }
}
