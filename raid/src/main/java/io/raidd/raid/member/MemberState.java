package io.raidd.raid.member;

/**
 * Where a member stands in its array. Every transition is made by {@link MemberLifecycle}:
 *
 * <pre>
 *            add (volume complete)            start rebuild / replace
 *   (new) ---------------------------> SPARE ---------------------------> REBUILDING
 *     |                                  |                                  |     |
 *     | add (volume degraded)            | fail                  mark in    |     | fail
 *     +----------------------------------|----------------------> sync     |     |
 *                                        v                        v        |     v
 *   assembled absent: MISSING          FAULTY <------- fail ---- ACTIVE <--+   FAULTY
 *   MISSING, FAULTY, SPARE --remove--> (gone; the slot reads MISSING)
 * </pre>
 */
public enum MemberState {
    /** Holds no slot yet; waits to be rebuilt into one. */
    SPARE,
    /** Holds a slot and is being rebuilt: writable everywhere, readable below its recovery offset. */
    REBUILDING,
    /** In sync and used for reads and writes. */
    ACTIVE,
    /** Failed at runtime (I/O error, timeout, operator); never read or written again. */
    FAULTY,
    /** No device in the slot. */
    MISSING;

    /** The name status output and the control protocol use. */
    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
