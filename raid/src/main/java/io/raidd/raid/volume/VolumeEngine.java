package io.raidd.raid.volume;

import io.raidd.blockdev.Extent;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

/** How one family of levels maps volume I/O onto members. Ranges are already validated. */
interface VolumeEngine {

    void read(long offsetBytes, ByteBuffer dst) throws IOException;

    /**
     * Reads the range from members' memory without waiting for any disk or lock; false when that is
     * not possible ({@code dst}'s bytes unspecified, its position unchanged) and the caller uses
     * {@link #read}. See {@link io.raidd.blockdev.BlockDevice#readIfCached}.
     */
    boolean readIfCached(long offsetBytes, ByteBuffer dst);

    void write(long offsetBytes, ByteBuffer src) throws IOException;

    /** Writes the gathered bytes as one write; the default writes each caller buffer in turn. */
    default void writeGathered(long offsetBytes, Gather src) throws IOException {
        long pos = offsetBytes;
        for (ByteBuffer part : src.parts()) {
            int n = part.remaining();
            write(pos, part);
            pos += n;
        }
        src.consume();
    }

    /** Makes the range read as zeroes, keeping redundancy consistent. */
    void writeZeroes(long offsetBytes, long lengthBytes) throws IOException;

    /** A hint: may drop the parts it cannot discard while keeping redundancy consistent. */
    void discard(long offsetBytes, long lengthBytes) throws IOException;

    List<Extent> allocation(long offsetBytes, long lengthBytes) throws IOException;

    /** True while every byte of the volume can still be read from members in sync. */
    boolean complete();

    /** Stripe-level access for background work (resync, rebuild, scrub). */
    StripeAccess stripes();
}
