package io.raidd.raid.member;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Who holds which slot of an array at one moment: immutable, replaced by {@link MemberLifecycle}
 * on every transition. Each slot has a primary member (a MISSING placeholder when there is no
 * device) and, during a hot replace, a replacement being rebuilt beside it. Spares and members that
 * left their slot after failing are kept as "others" until removed.
 *
 * <p>Member states are captured when the roster is made; a member can still fail afterwards (its
 * I/O then fails) and a rebuild can still progress (which only ever makes more of a member
 * readable). What a stripe operation may use is decided from one roster, under the stripe's lock.
 */
public final class Roster {
    private final Member[] primary;
    private final MemberState[] primaryStates;
    private final Member[] replacement;
    private final MemberState[] replacementStates;
    private final List<Member> others;
    private final int activeCount;
    private final boolean anyRebuilding;

    Roster(Member[] primary, Member[] replacement, List<Member> others) {
        this.primary = primary.clone();
        this.replacement = replacement.clone();
        this.others = List.copyOf(others);
        this.primaryStates = new MemberState[primary.length];
        this.replacementStates = new MemberState[primary.length];
        int active = 0;
        boolean rebuilding = false;
        for (int i = 0; i < primary.length; i++) {
            primaryStates[i] = primary[i].state();
            active += primaryStates[i] == MemberState.ACTIVE ? 1 : 0;
            rebuilding |= primaryStates[i] == MemberState.REBUILDING;
            if (replacement[i] != null) {
                replacementStates[i] = replacement[i].state();
                rebuilding |= replacementStates[i] == MemberState.REBUILDING;
            }
        }
        this.activeCount = active;
        this.anyRebuilding = rebuilding;
    }

    static Roster of(Member[] primary) {
        return new Roster(primary, new Member[primary.length], List.of());
    }

    public int slots() {
        return primary.length;
    }

    /** The member holding {@code slot} (a MISSING placeholder when there is none). */
    public Member primary(int slot) {
        return primary[slot];
    }

    /** The state {@code slot}'s primary had when this roster was made. */
    public MemberState state(int slot) {
        return primaryStates[slot];
    }

    /** The member being rebuilt to replace {@code slot}'s primary, or null. */
    public Member replacement(int slot) {
        return replacement[slot];
    }

    /** The state the replacement had when this roster was made, or null without one. */
    public MemberState replacementState(int slot) {
        return replacementStates[slot];
    }

    public List<Member> primaries() {
        return List.of(primary);
    }

    /** Spares, and members that failed and left their slot, until removed. */
    public List<Member> others() {
        return others;
    }

    /** Every member: primaries (placeholders included), replacements, others. */
    public List<Member> everyMember() {
        List<Member> out = new ArrayList<>(Arrays.asList(primary));
        for (Member r : replacement) {
            if (r != null) {
                out.add(r);
            }
        }
        out.addAll(others);
        return out;
    }

    /** Members being rebuilt (primaries and replacements). */
    public List<Member> rebuilding() {
        List<Member> out = new ArrayList<>();
        for (int i = 0; i < primary.length; i++) {
            if (primaryStates[i] == MemberState.REBUILDING) {
                out.add(primary[i]);
            }
            if (replacementStates[i] == MemberState.REBUILDING) {
                out.add(replacement[i]);
            }
        }
        return out;
    }

    public boolean anyRebuilding() {
        return anyRebuilding;
    }

    /** Primaries that were ACTIVE when this roster was made. */
    public int activeCount() {
        return activeCount;
    }

    /** Spares waiting for a slot. */
    public List<Member> spares() {
        List<Member> out = new ArrayList<>();
        for (Member m : others) {
            if (m.state() == MemberState.SPARE) {
                out.add(m);
            }
        }
        return out;
    }
}
