package io.raidd.raid.member;

import java.io.IOException;

/**
 * What the array asks of its on-disk metadata (md superblocks in the daemon). Each call returns
 * only once the change is durable on the members still in the array, because the I/O or command
 * that triggered it must not be acknowledged earlier: an array that was written while a member was
 * failed must never reassemble with that member in sync.
 */
public interface ArrayMetadata {

    /** The array is about to be written: record "not clean" (md: resync_offset = 0). */
    void markDirty() throws IOException;

    /** Every write is durable and parity consistent: record "clean". */
    void markClean() throws IOException;

    /** {@code slot} failed; record it as faulty on the surviving members and bump events. */
    void memberFailed(int slot, String reason) throws IOException;

    /** For arrays without on-disk metadata (tests, scratch volumes). */
    ArrayMetadata NONE = new ArrayMetadata() {
        @Override
        public void markDirty() {}

        @Override
        public void markClean() {}

        @Override
        public void memberFailed(int slot, String reason) {}
    };
}
