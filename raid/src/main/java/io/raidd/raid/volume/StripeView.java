package io.raidd.raid.volume;

import io.raidd.raid.member.Member;
import io.raidd.raid.member.MemberState;
import io.raidd.raid.member.Roster;

/**
 * Which members one stripe operation may read and write, decided once from one {@link Roster}
 * under the stripe's lock. An ACTIVE member is readable and writable; a REBUILDING one is writable
 * everywhere (what is written ahead of the rebuild is simply written again by it) and readable only
 * where the rebuild has passed; anything else is neither.
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

    Member member(int slot) {
        return roster.primary(slot);
    }

    boolean readable(int slot) {
        return readable(slot, memberEndBytes);
    }

    /** Whether {@code slot} holds current data for member bytes below {@code memberEndBytes}. */
    boolean readable(int slot, long memberEndBytes) {
        Member m = roster.primary(slot);
        MemberState s = roster.state(slot);
        return s == MemberState.ACTIVE || (s == MemberState.REBUILDING && m.recoveredBytes() >= memberEndBytes);
    }

    boolean writable(int slot) {
        MemberState s = roster.state(slot);
        return s == MemberState.ACTIVE || s == MemberState.REBUILDING;
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

    int unreadableCount() {
        int n = 0;
        for (int slot = 0; slot < roster.slots(); slot++) {
            n += readable(slot) ? 0 : 1;
        }
        return n;
    }
}
