package io.raidd.raid.volume;

/** Where a member stands in its array. Transitions only go ACTIVE -> FAULTY; MISSING is fixed. */
public enum MemberState {
    /** In sync and used for reads and writes. */
    ACTIVE,
    /** Failed at runtime (I/O error, timeout, unrepairable read); never touched again. */
    FAULTY,
    /** Absent when the array was assembled. */
    MISSING;

    public boolean usable() {
        return this == ACTIVE;
    }
}
