package io.raidd.raid.layout;

import java.util.function.IntPredicate;

/**
 * The one rule for "can every byte of the volume still be read with these members": assembly
 * decides with it whether an array may start, the volume whether it still serves, and the member
 * commands whether a member may be failed or removed without losing data.
 *
 * <p>RAID-4/5/6 (and RAID-0, which tolerates nothing) count: at most {@link
 * Geometry#tolerableFailures()} slots may be without a source. RAID-1/10 decide per chunk: every
 * volume chunk needs one copy on a slot that has a source. md's layouts repeat with a period that
 * divides {@code raidDisks * copies} chunks, so one period tells.
 */
public final class Redundancy {
    private Redundancy() {}

    /** True when every byte can be read from the slots for which {@code present} is true. */
    public static boolean complete(Geometry geometry, IntPredicate present) {
        MirrorLayout mirror = geometry.mirrorLayout();
        if (geometry.parityLayout() != null || geometry.level() == 0) {
            int missing = 0;
            for (int slot = 0; slot < geometry.raidDisks(); slot++) {
                missing += present.test(slot) ? 0 : 1;
            }
            return missing <= geometry.tolerableFailures();
        }
        long chunks = geometry.volumeSizeBytes() / geometry.chunkBytes();
        long period = Math.min(Math.max(1, chunks), (long) mirror.raidDisks() * mirror.copies());
        for (long chunk = 0; chunk < period; chunk++) {
            boolean any = false;
            for (int c = 0; c < mirror.copies() && !any; c++) {
                any = present.test(mirror.disk(chunk, c));
            }
            if (!any) {
                return false;
            }
        }
        return true;
    }

    /** True when the slots stay complete after also losing {@code slot}. */
    public static boolean completeWithout(Geometry geometry, IntPredicate present, int slot) {
        return complete(geometry, s -> s != slot && present.test(s));
    }
}
