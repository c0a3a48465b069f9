package io.raidd.raid.member;

import java.util.List;

/**
 * Who holds which slot of an array at one moment: immutable, replaced by {@link MemberLifecycle}
 * on every transition. Member states can still move on (a member fails, a rebuild progresses);
 * what a stripe operation may use is decided from one roster and the member states it reads once,
 * under the stripe's lock.
 */
public final class Roster {
    private final Member[] primary;
    private final MemberState[] states;
    private final int activeCount;

    Roster(Member[] primary) {
        this.primary = primary.clone();
        this.states = new MemberState[primary.length];
        int active = 0;
        for (int i = 0; i < primary.length; i++) {
            states[i] = primary[i].state();
            active += states[i] == MemberState.ACTIVE ? 1 : 0;
        }
        this.activeCount = active;
    }

    /** The same holders with states re-read (after a member changed state). */
    Roster changed() {
        return new Roster(primary);
    }

    public int slots() {
        return primary.length;
    }

    /** The member holding {@code slot} (a MISSING placeholder when there is none). */
    public Member primary(int slot) {
        return primary[slot];
    }

    /** The state {@code slot}'s member had when this roster was made. */
    public MemberState state(int slot) {
        return states[slot];
    }

    public List<Member> primaries() {
        return List.of(primary);
    }

    /** Members that were ACTIVE when this roster was made. */
    public int activeCount() {
        return activeCount;
    }
}
