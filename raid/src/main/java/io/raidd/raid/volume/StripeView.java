package io.raidd.raid.volume;

import io.raidd.raid.member.IoBatch;
import io.raidd.raid.member.Member;
import io.raidd.raid.member.MemberState;
import io.raidd.raid.member.Roster;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Which members one stripe operation may read and write, decided from one {@link Roster} under the
 * stripe's lock. For each slot: an ACTIVE member is readable and writable; a REBUILDING one (a spare
 * rebuilt into the slot, or the replacement of a hot replace) is writable everywhere (what is
 * written ahead of the rebuild is simply written again by it) and readable only where the rebuild
 * has passed; anything else is neither. Reads of a slot go to its primary when that can serve them,
 * else to its replacement; writes go to both.
 *
 * <p>A member can still fail while the operation runs; its I/O then fails and the operation treats
 * it like an unreadable member, as it always has. A rebuilding member cannot become readable for a
 * stripe while the operation holds that stripe's lock, because the rebuild moves past a stripe only
 * under that lock.
 */
final class StripeView {
    private final Roster roster;
    /** End of the stripe's byte range on its members (parity levels; mirrors ask per copy). */
    private final long memberEndBytes;

    StripeView(Roster roster, long memberEndBytes) {
        this.roster = roster;
        this.memberEndBytes = memberEndBytes;
    }

    /** The slot's primary member (for names in messages). */
    Member member(int slot) {
        return roster.primary(slot);
    }

    boolean readable(int slot) {
        return reader(slot, memberEndBytes) != null;
    }

    /** Whether {@code slot} holds current data for member bytes below {@code memberEndBytes}. */
    boolean readable(int slot, long memberEndBytes) {
        return reader(slot, memberEndBytes) != null;
    }

    /** The member to read {@code slot} from in this stripe, or null when none holds current data. */
    Member reader(int slot) {
        return reader(slot, memberEndBytes);
    }

    Member reader(int slot, long memberEndBytes) {
        if (current(roster.primary(slot), roster.state(slot), memberEndBytes)) {
            return roster.primary(slot);
        }
        Member r = roster.replacement(slot);
        return r != null && current(r, roster.replacementState(slot), memberEndBytes) ? r : null;
    }

    private static boolean current(Member m, MemberState s, long memberEndBytes) {
        return s == MemberState.ACTIVE || (s == MemberState.REBUILDING && m.recoveredBytes() >= memberEndBytes);
    }

    private static boolean live(MemberState s) {
        return s == MemberState.ACTIVE || s == MemberState.REBUILDING;
    }

    boolean writable(int slot) {
        return live(roster.state(slot)) || (roster.replacement(slot) != null && live(roster.replacementState(slot)));
    }

    /** The members a write of {@code slot} must reach: its primary and its replacement, when live. */
    List<Member> writers(int slot) {
        List<Member> out = new ArrayList<>(2);
        if (live(roster.state(slot))) {
            out.add(roster.primary(slot));
        }
        if (roster.replacement(slot) != null && live(roster.replacementState(slot))) {
            out.add(roster.replacement(slot));
        }
        return out;
    }

    /** Reads {@code slot}'s bytes into a caller's buffer (bounced); null when it has no reader. */
    IoBatch.Op readInto(IoBatch batch, int slot, long memberOffsetBytes, ByteBuffer dst) {
        Member m = reader(slot);
        return m == null ? null : batch.readInto(m, memberOffsetBytes, dst);
    }

    /** Reads {@code slot}'s bytes into this thread's scratch; null (nothing issued) when it has no reader. */
    IoBatch.Op read(IoBatch batch, int slot, long memberOffsetBytes, ByteBuffer dst) {
        Member m = reader(slot);
        return m == null ? null : batch.read(m, memberOffsetBytes, dst);
    }

    /** {@link #read(IoBatch, int, long, ByteBuffer)}, checking integrity tags as {@code verify} says. */
    IoBatch.Op read(IoBatch batch, int slot, long memberOffsetBytes, ByteBuffer dst, Member.Verify verify) {
        Member m = reader(slot);
        return m == null ? null : batch.read(m, memberOffsetBytes, dst, verify);
    }

    /** Writes {@code src} to every member that must hold {@code slot}'s bytes. */
    void write(IoBatch batch, int slot, long memberOffsetBytes, ByteBuffer src) {
        boolean first = true;
        for (Member m : writers(slot)) {
            batch.write(m, memberOffsetBytes, first ? src : src.duplicate());
            first = false;
        }
    }

    /** Writes the buffers' concatenation to every member that must hold {@code slot}'s bytes. */
    void write(IoBatch batch, int slot, long memberOffsetBytes, List<ByteBuffer> srcs) {
        boolean first = true;
        for (Member m : writers(slot)) {
            batch.write(m, memberOffsetBytes, first ? srcs : duplicates(srcs));
            first = false;
        }
    }

    void writeZeroes(IoBatch batch, int slot, long memberOffsetBytes, long lengthBytes) {
        for (Member m : writers(slot)) {
            batch.writeZeroes(m, memberOffsetBytes, lengthBytes);
        }
    }

    private static List<ByteBuffer> duplicates(List<ByteBuffer> srcs) {
        List<ByteBuffer> out = new ArrayList<>(srcs.size());
        for (ByteBuffer b : srcs) {
            out.add(b.duplicate());
        }
        return out;
    }

    int slots() {
        return roster.slots();
    }

    /** Whether every slot is readable: nothing to reconstruct. */
    boolean allReadable() {
        for (int slot = 0; slot < roster.slots(); slot++) {
            if (!readable(slot)) {
                return false;
            }
        }
        return true;
    }
}
