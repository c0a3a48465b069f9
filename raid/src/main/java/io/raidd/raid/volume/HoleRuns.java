package io.raidd.raid.volume;

import io.raidd.blockdev.Extent;
import io.raidd.raid.member.IoBatch;
import io.raidd.raid.member.Member;
import io.raidd.raid.member.MemberLifecycle;
import java.io.IOException;
import java.util.Collection;
import java.util.List;

/**
 * Runs of member chunks that are holes (unallocated, reading as zeroes) on every member a rebuild
 * reads, for levels whose positions share member offsets (RAID-4/5/6, RAID-1): a rebuild records
 * such runs on its targets as zeroes without reading or computing them, so it costs what was
 * written, not what was provisioned.
 */
final class HoleRuns {
    private HoleRuns() {}

    /**
     * Member chunks from {@code memberChunk} (at most {@code maxChunks}) that are holes on the
     * readers of every slot without a target, provided at least {@code needed} slots can be read.
     */
    static long holeChunks(
            StripeView view, int chunkBytes, long memberChunk, long maxChunks, Collection<Member> targets, int needed)
            throws IOException {
        long from = memberChunk * chunkBytes;
        long end = from + maxChunks * chunkBytes;
        int sources = 0;
        for (int slot = 0; slot < view.slots(); slot++) {
            if (holdsTarget(view, slot, targets)) {
                continue;
            }
            Member reader = view.reader(slot, from + chunkBytes);
            if (reader == null) {
                continue;
            }
            sources++;
            end = Math.min(end, Math.min(holeEnd(reader, from, end - from), reader.recoveredBytes()));
            if (end < from + chunkBytes) {
                return 0;
            }
        }
        if (sources < needed) {
            return 0;
        }
        return (end - from) / chunkBytes;
    }

    private static boolean holdsTarget(StripeView view, int slot, Collection<Member> targets) {
        for (Member t : targets) {
            if (t.slot() == slot) {
                return true;
            }
        }
        return false;
    }

    /** Where the hole starting at member offset {@code from} ends (at most {@code from + max}). */
    private static long holeEnd(Member m, long from, long max) throws IOException {
        long pos = from;
        long end = from + max;
        while (pos < end) {
            List<Extent> extents = m.allocation(pos, end - pos);
            if (extents.isEmpty()) {
                return pos;
            }
            for (Extent e : extents) {
                long start = e.offsetBytes() - m.dataOffsetBytes();
                if (!e.hole() || start > pos) {
                    return pos;
                }
                pos = Math.min(end, start + e.lengthBytes());
            }
        }
        return end;
    }

    /**
     * The first member chunk at or after {@code memberChunk + 1} that could be a hole on every
     * member read: no earlier chunk can be, because some member holds data there (each member's
     * data run is measured once, with one question, however long). The rebuild reads and computes
     * up to there without asking again.
     */
    static long nextHoleChunk(
            StripeView view, int chunkBytes, long memberChunk, long memberChunks, Collection<Member> targets)
            throws IOException {
        long from = memberChunk * chunkBytes;
        long bound = from;
        for (int slot = 0; slot < view.slots(); slot++) {
            if (holdsTarget(view, slot, targets)) {
                continue;
            }
            Member reader = view.reader(slot, from + chunkBytes);
            if (reader == null) {
                continue;
            }
            long holeAt;
            try {
                holeAt = reader.nextHole(from);
            } catch (IOException e) {
                return memberChunk + 1; // cannot say: look again at the next chunk
            }
            bound = Math.max(bound, holeAt);
        }
        long chunk = (bound + chunkBytes - 1) / chunkBytes;
        return Math.min(memberChunks, Math.max(memberChunk + 1, chunk));
    }

    /** Writes zeroes to every target over the member chunks; fails targets whose write fails. */
    static void zero(MemberLifecycle members, int chunkBytes, long memberChunk, long count, Collection<Member> targets)
            throws IOException {
        IoBatch batch = new IoBatch();
        for (Member t : targets) {
            batch.writeZeroes(t, memberChunk * chunkBytes, count * chunkBytes);
        }
        members.failMembers(batch.await(members.timeoutNs()));
    }
}
