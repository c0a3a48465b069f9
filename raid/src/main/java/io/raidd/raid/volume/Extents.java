package io.raidd.raid.volume;

import io.raidd.blockdev.Extent;
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
}
