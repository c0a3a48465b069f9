package io.raidd.scrubber;

import java.util.List;

/**
 * A volume's scrub as status shows it: the running or paused one, or else the last one.
 *
 * @param state {@code never}, {@code queued}, {@code running}, {@code paused}, {@code finished},
 *     {@code stopped}, {@code failed}
 * @param mode {@code check} or {@code repair}
 * @param doneBytes volume bytes scrubbed
 * @param totalBytes volume bytes the scrub covers
 * @param bytesPerSecond recent rate while running, else the average of the scrub
 * @param etaSeconds seconds left at that rate, -1 when unknown
 * @param startedMillis epoch milliseconds, 0 for never
 * @param endedMillis epoch milliseconds, 0 while not ended
 * @param members findings per member
 * @param findings the findings (the first {@link ScrubAgent#MAX_FINDINGS} of a running scrub, the
 *     stored ones of an earlier one)
 * @param history the earlier scrubs, newest first, without their findings
 * @param nextScheduledMillis when {@code --scrub-every} starts the next one (0: not scheduled)
 * @param failure why it failed, or null
 */
public record ScrubStatus(
        String volume,
        String state,
        String mode,
        long doneBytes,
        long totalBytes,
        long bytesPerSecond,
        long etaSeconds,
        long startedMillis,
        long endedMillis,
        long found,
        long repaired,
        long unresolved,
        List<MemberCounts> members,
        List<Finding> findings,
        List<Summary> history,
        long nextScheduledMillis,
        String failure) {

    public ScrubStatus {
        members = List.copyOf(members);
        findings = List.copyOf(findings);
        history = List.copyOf(history);
    }

    public record MemberCounts(String member, int slot, long found, long repaired, long unresolved) {}

    /** An earlier scrub, in brief. */
    public record Summary(
            String state,
            String mode,
            long startedMillis,
            long endedMillis,
            long doneBytes,
            long totalBytes,
            long bytesPerSecond,
            long found,
            long repaired,
            long unresolved,
            List<MemberCounts> members) {}

    public boolean active() {
        return state.equals("running") || state.equals("queued");
    }
}
