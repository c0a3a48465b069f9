package io.raidd.raid.volume;

import io.raidd.blockdev.Extent;
import io.raidd.raid.member.Member;
import java.io.IOException;
import java.util.List;

/** Building extent lists. */
final class Extents {
    private Extents() {}

    /** Appends {@code e}, merging it into the last extent when adjacent with the same state. */
    static void append(List<Extent> out, Extent e) {
        if (!out.isEmpty()) {
            Extent last = out.get(out.size() - 1);
            if (last.endBytes() == e.offsetBytes() && last.hole() == e.hole() && last.zero() == e.zero()) {
                out.set(
                        out.size() - 1,
                        new Extent(last.offsetBytes(), last.lengthBytes() + e.lengthBytes(), e.hole(), e.zero()));
                return;
            }
        }
        out.add(e);
    }

    /**
     * Appends how {@code member} stores {@code [memberOffsetBytes, +lengthBytes)} of its data area,
     * as volume extents starting at {@code volumeOffsetBytes}. Without a member to ask (it failed)
     * the range counts as data, which is always safe to report.
     */
    static void appendMemberRange(
            List<Extent> out, Member member, long volumeOffsetBytes, long memberOffsetBytes, long lengthBytes)
            throws IOException {
        List<Extent> extents = null;
        if (member != null) {
            try {
                extents = member.allocation(memberOffsetBytes, lengthBytes);
            } catch (IOException e) {
                // A member that cannot say: its I/O fails it soon enough; data is always safe to report.
                extents = null;
            }
        }
        if (extents == null) {
            append(out, new Extent(volumeOffsetBytes, lengthBytes, false, false));
            return;
        }
        for (Extent e : extents) {
            long start = volumeOffsetBytes + (e.offsetBytes() - member.dataOffsetBytes() - memberOffsetBytes);
            long clipped = Math.min(e.lengthBytes(), volumeOffsetBytes + lengthBytes - start);
            if (clipped > 0) {
                append(out, new Extent(start, clipped, e.hole(), e.zero()));
            }
        }
    }
}
