package io.raidd.raid.event;

/**
 * What happened to an array or one of its members. The names are md's ({@code mdadm --monitor}
 * passes them to its program) where md has the event; raidd's own additions follow the same style.
 */
public enum EventType {
    /** An array was assembled and is being served. */
    NewArray(false),
    /** The array lost redundancy: a member failed or was missing at assembly. */
    DegradedArray(true),
    /** An active or rebuilding member failed (I/O error, timeout, operator). */
    Fail(true),
    /** A spare failed. */
    FailSpare(true),
    /** A member's device shrank, vanished or changed identity under raidd. */
    DeviceDisappeared(true),
    /** A rebuild finished and the member is active. */
    SpareActive(false),
    RebuildStarted(false),
    Rebuild20(false),
    Rebuild40(false),
    Rebuild60(false),
    Rebuild80(false),
    RebuildFinished(false),
    /** A member was added (as a spare, or to rebuild at once). */
    MemberAdded(false),
    /** A spare, faulty or missing member was taken out of the array. */
    MemberRemoved(false),
    /** A hot replace started: the new member is rebuilt while the old one keeps serving. */
    ReplaceStarted(false),
    /** A hot replace finished: the new member took the old one's slot. */
    ReplaceFinished(false),
    /** A stripe that cannot be reconstructed was found (rebuild or read): its data is lost. */
    DataLost(true),
    /** A member block did not match its integrity tag (silent corruption); it is served from redundancy. */
    CorruptionFound(true),
    /** A block found corrupt was rewritten with good data (by a read, a scrub, a resync or a rebuild). */
    CorruptionRepaired(false),
    ScrubStarted(false),
    /** A scrub ended (finished, or stopped); its findings are in its report. */
    ScrubFinished(false),
    /** Fault injection on a live member (failure drills). */
    FaultInjected(true);

    private final boolean alarm;

    EventType(boolean alarm) {
        this.alarm = alarm;
    }

    /** Whether the event needs an operator's attention (logged as a warning). */
    public boolean alarm() {
        return alarm;
    }

    /** The progress event for a rebuild that has passed {@code percent}, or null. */
    public static EventType rebuildProgress(int percent) {
        return switch (percent) {
            case 20 -> Rebuild20;
            case 40 -> Rebuild40;
            case 60 -> Rebuild60;
            case 80 -> Rebuild80;
            default -> null;
        };
    }
}
