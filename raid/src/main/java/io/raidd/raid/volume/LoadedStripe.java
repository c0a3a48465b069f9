package io.raidd.raid.volume;

import io.raidd.raid.member.IoBatch;
import io.raidd.raid.member.Member;
import io.raidd.raid.member.MemberLifecycle;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

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
    /**
     * For an unreadable position whose read failed only its integrity check: the byte ranges of the
     * block ({@code [from, to)} pairs, ascending) that are bad; the rest of the block was read and is
     * good. Null where the whole position is unreadable.
     */
    final long[][] corruptRanges;
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
        this.corruptRanges = new long[slots.length][];
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

    /**
     * Writes {@code position}'s block to {@code only} (when it is one of the slot's writers) or to
     * all of the slot's writers; fails members whose write fails; counts a corrected read where the
     * slot's reader had failed to read it. Returns the successful member writes.
     */
    int rewrite(MemberLifecycle members, int position, Member only) throws IOException {
        int slot = slots[position];
        IoBatch writes = new IoBatch();
        int issued = 0;
        for (Member m : view.writers(slot)) {
            if (only == null || only == m) {
                writes.write(m, memberOffsets[position], ByteBuffer.wrap(blocks[position], 0, lengthBytes));
                issued++;
            }
        }
        if (issued == 0) {
            return 0;
        }
        List<IoBatch.Op> failed = writes.await(members.timeoutNs());
        members.failMembers(failed);
        Member reader = view.reader(slot);
        if (failed.isEmpty() && unreadable[position] && reader != null && (only == null || only == reader)) {
            reader.noteCorrectedRead();
        }
        return issued - failed.size();
    }

    /**
     * Writes {@code lengthBytes} of {@code position}'s block from {@code fromBytes} on to all of the
     * slot's writers; fails members whose write fails. Returns the successful member writes.
     */
    int rewriteRange(MemberLifecycle members, int position, int fromBytes, int lengthBytes) throws IOException {
        if (fromBytes < 0 || lengthBytes <= 0 || fromBytes + lengthBytes > lengthBytes()) {
            throw new IllegalArgumentException("range " + fromBytes + "+" + lengthBytes + " outside the block");
        }
        IoBatch writes = new IoBatch();
        int issued = 0;
        for (Member m : view.writers(slots[position])) {
            writes.write(
                    m, memberOffsets[position] + fromBytes, ByteBuffer.wrap(blocks[position], fromBytes, lengthBytes));
            issued++;
        }
        if (issued == 0) {
            return 0;
        }
        List<IoBatch.Op> failed = writes.await(members.timeoutNs());
        members.failMembers(failed);
        return issued - failed.size();
    }

    /** The member {@code position} was (or would have been) read from; null when none holds it current. */
    public Member reader(int position) {
        return view.reader(slots[position], memberOffsets[position] + lengthBytes);
    }

    /** The slot's primary member, for names in reports. */
    public Member member(int position) {
        return view.member(slots[position]);
    }

    /** Whether a member holds current data for {@code position} (so a failed read of it is a read error). */
    public boolean readable(int position) {
        return reader(position) != null;
    }

    /** Whether {@code position} can be written (a member of its slot is live). */
    public boolean writable(int position) {
        return view.writable(slots[position]);
    }

    /**
     * Records the integrity tags of every position's block as loaded (and regenerated) now, on the
     * members that hold it in sync: for a resync, which holds the stripe lock and has made the
     * stripe consistent, and trusts its data over tags that an unclean stop may have left stale.
     */
    void retag() throws IOException {
        for (int p = 0; p < slots.length; p++) {
            for (Member m : view.writers(slots[p])) {
                boolean current = m.state() == io.raidd.raid.member.MemberState.ACTIVE
                        || m.recoveredBytes() >= memberOffsets[p] + lengthBytes;
                if (m.tags() != null && current) {
                    m.tags().retag(memberOffsets[p], blocks[p], lengthBytes);
                }
            }
        }
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
