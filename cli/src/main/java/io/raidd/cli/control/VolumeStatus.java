package io.raidd.cli.control;

import java.util.List;

/**
 * A volume as {@code raidctl status} shows it (and as the control protocol sends it, field for
 * field, in JSON). Byte counts are bytes; rates bytes per second.
 *
 * @param name export name
 * @param uuid md array UUID
 * @param level RAID level (0, 1, 4, 5, 6, 10)
 * @param layout md's layout name ("left-symmetric", "near=2", "-")
 * @param chunkBytes chunk size (RAID-1: the I/O split unit)
 * @param sizeBytes volume size
 * @param state {@code clean}, {@code degraded}, {@code resyncing}, {@code rebuilding} or {@code failed}
 * @param dirty whether the superblocks say "not clean" (writes since the last idle moment)
 * @param members every slot's member, then the spares (slot -1)
 * @param sync the running (or queued) sync action
 * @param rebuildMinBytesPerSecond the rate a sync action keeps under foreground load
 * @param rebuildMaxBytesPerSecond the rate it may reach when idle ({@link Long#MAX_VALUE}: unlimited)
 * @param lostRanges volume ranges whose data could not be reconstructed (reads there fail), as
 *     "offset+length"
 * @param io the volume's I/O since the daemon started
 * @param integrity integrity tags: whether reads check them, the cache that holds them
 */
public record VolumeStatus(
        String name,
        String uuid,
        int level,
        String layout,
        long chunkBytes,
        long sizeBytes,
        String state,
        boolean dirty,
        List<MemberStatus> members,
        SyncStatus sync,
        long rebuildMinBytesPerSecond,
        long rebuildMaxBytesPerSecond,
        List<String> lostRanges,
        IoCounters io,
        Integrity integrity) {

    /** Without integrity figures (volumes of tests and older daemons). */
    public VolumeStatus(
            String name,
            String uuid,
            int level,
            String layout,
            long chunkBytes,
            long sizeBytes,
            String state,
            boolean dirty,
            List<MemberStatus> members,
            SyncStatus sync,
            long rebuildMinBytesPerSecond,
            long rebuildMaxBytesPerSecond,
            List<String> lostRanges,
            IoCounters io) {
        this(
                name,
                uuid,
                level,
                layout,
                chunkBytes,
                sizeBytes,
                state,
                dirty,
                members,
                sync,
                rebuildMinBytesPerSecond,
                rebuildMaxBytesPerSecond,
                lostRanges,
                io,
                null);
    }

    /**
     * Integrity tags of the volume's members.
     *
     * @param verifyReads whether every read is checked against the tags
     * @param tagCacheBytes memory the volume may hold tags in
     * @param tagCacheHeldBytes memory holding tags now
     * @param tagLoads tag blocks read from the members so far
     * @param tagEvictions tag blocks dropped from memory to make room
     */
    public record Integrity(
            boolean verifyReads, long tagCacheBytes, long tagCacheHeldBytes, long tagLoads, long tagEvictions) {}

    /** Requests served and bytes moved through the volume (not the members). */
    public record IoCounters(long readOps, long writeOps, long bytesRead, long bytesWritten) {
        public static final IoCounters NONE = new IoCounters(0, 0, 0, 0);
    }

    /** Whether nothing is wrong or pending. */
    public boolean healthy() {
        return state.equals("clean") && sync.action().equals("idle");
    }

    /**
     * One member.
     *
     * @param slot the slot it holds, or -1 for a spare
     * @param path its path as given (or "(missing)")
     * @param state {@code active}, {@code spare}, {@code rebuilding}, {@code faulty} or {@code missing}
     * @param replacing for a hot-replace target: the path of the member it will replace, else null
     * @param recoveredBytes for a rebuilding member: data bytes in sync so far, else -1
     * @param readErrors read errors seen
     * @param writeErrors write errors seen
     * @param timeouts I/Os that overran the member timeout
     * @param correctedReads read errors repaired by rewriting
     * @param reason why it is faulty or missing, else null
     * @param checksumErrors blocks whose data did not match their integrity tag (ZFS's CKSUM)
     */
    public record MemberStatus(
            int slot,
            String path,
            String state,
            String replacing,
            long recoveredBytes,
            long readErrors,
            long writeErrors,
            long timeouts,
            long correctedReads,
            String reason,
            long checksumErrors) {

        public MemberStatus(
                int slot,
                String path,
                String state,
                String replacing,
                long recoveredBytes,
                long readErrors,
                long writeErrors,
                long timeouts,
                long correctedReads,
                String reason) {
            this(
                    slot,
                    path,
                    state,
                    replacing,
                    recoveredBytes,
                    readErrors,
                    writeErrors,
                    timeouts,
                    correctedReads,
                    reason,
                    0);
        }
    }

    /**
     * The sync action.
     *
     * @param action {@code idle}, {@code resync}, {@code rebuild}, {@code replace}
     * @param doneBytes progress (for a rebuild: bytes of the new members in sync)
     * @param totalBytes what the action covers
     * @param bytesPerSecond recent rate
     * @param etaSeconds seconds left at that rate, -1 when unknown
     * @param pending further actions queued behind it
     */
    public record SyncStatus(
            String action, long doneBytes, long totalBytes, long bytesPerSecond, long etaSeconds, int pending) {}
}
