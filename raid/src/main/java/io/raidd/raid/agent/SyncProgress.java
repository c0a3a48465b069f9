package io.raidd.raid.agent;

/**
 * The sync action a volume is running, as status shows it.
 *
 * @param action {@code resync}, {@code rebuild}, ... or {@code idle}
 * @param doneBytes progress in the action's own bytes
 * @param totalBytes what the whole action covers (0 when unknown)
 * @param bytesPerSecond the recent rate (over the last seconds, pauses and throttling included)
 * @param etaSeconds estimated seconds left at that rate, or -1 when unknown
 * @param paused whether an operator paused it
 * @param pending sync actions queued behind it
 */
public record SyncProgress(
        String action,
        long doneBytes,
        long totalBytes,
        long bytesPerSecond,
        long etaSeconds,
        boolean paused,
        int pending) {

    public static final SyncProgress IDLE = new SyncProgress("idle", 0, 0, 0, -1, false, 0);

    public boolean idle() {
        return action.equals("idle") && pending == 0;
    }
}
