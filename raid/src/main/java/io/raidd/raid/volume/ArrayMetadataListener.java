package io.raidd.raid.volume;

import java.io.IOException;

/**
 * What the volume asks of the on-disk metadata. Each call returns only once the change is durable
 * on the surviving members, because the I/O that triggered it must not be acknowledged earlier: an
 * array that was written while a member was failed must never reassemble with that member in sync.
 */
public interface ArrayMetadataListener {

    /** The array is about to be written: record "not clean" (md: resync_offset = 0). */
    void markDirty() throws IOException;

    /** Every write is durable and parity consistent: record "clean". */
    void markClean() throws IOException;

    /** {@code slot} failed; record it as faulty on the surviving members and bump events. */
    void memberFailed(int slot, String reason) throws IOException;

    /** For arrays without on-disk metadata (tests, scratch volumes). */
    ArrayMetadataListener NONE = new ArrayMetadataListener() {
        @Override
        public void markDirty() {}

        @Override
        public void markClean() {}

        @Override
        public void memberFailed(int slot, String reason) {}
    };
}
