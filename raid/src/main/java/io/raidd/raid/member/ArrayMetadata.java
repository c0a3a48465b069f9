package io.raidd.raid.member;

import io.raidd.blockdev.BlockDevice;
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

    /** {@code member} failed; record it as faulty on the members still in the array. */
    void memberFailed(Member member, String reason) throws IOException;

    /**
     * Checks that {@code device} can join the array (not a member of it or of another array, large
     * enough) and returns where its data area would start. Changes nothing.
     *
     * @throws IOException with a one-line reason when it cannot join
     */
    long planNewMember(String name, BlockDevice device) throws IOException;

    /**
     * A new device joins (as a spare, a member rebuilding into a slot, or a replacement): write its
     * metadata and list it in every member's.
     */
    void memberAdded(Member member) throws IOException;

    /** A spare starts rebuilding into its slot (or as a replacement); record its role. */
    void rebuildStarted(Member member) throws IOException;

    /**
     * A rebuilding member holds current data below {@code recoveredBytes}, and that data is durable
     * on it: record the point a restart resumes from (md's recovery_offset, in the member's own
     * superblock only).
     */
    void recoveryCheckpoint(Member member, long recoveredBytes) throws IOException;

    /**
     * A rebuild finished: {@code member} is in sync in its slot; {@code retired}, the member it
     * replaced in a hot replace, or null, leaves the array.
     */
    void memberInSync(Member member, Member retired) throws IOException;

    /** {@code member} (spare, faulty, or a cancelled replacement) is taken out of the array. */
    void memberRemoved(Member member) throws IOException;

    /**
     * Devices whose metadata writes timed out (a hung disk): the array fails their members, so the
     * next change does not wait for them again. Empty by default.
     */
    default java.util.List<BlockDevice> unresponsive() {
        return java.util.List.of();
    }

    /**
     * Where {@code member}'s integrity tags live ({@link io.raidd.raid.md.RaiddAreaDescriptor}), or
     * null when it has none: no raidd area (a member md made), or one that belongs to another array
     * or device. A version-1 area is upgraded in place first.
     */
    default TagsLocation tagsLocation(Member member) throws IOException {
        return null;
    }

    /** A member's tags region and the data area it covers, in bytes on the member's device. */
    record TagsLocation(long dataBytes, long tagsOffsetBytes) {}

    /** For arrays without on-disk metadata (tests, scratch volumes): any device may join at offset 0. */
    ArrayMetadata NONE = new ArrayMetadata() {
        @Override
        public void markDirty() {}

        @Override
        public void markClean() {}

        @Override
        public void memberFailed(Member member, String reason) {}

        @Override
        public long planNewMember(String name, BlockDevice device) {
            return 0;
        }

        @Override
        public void memberAdded(Member member) {}

        @Override
        public void rebuildStarted(Member member) {}

        @Override
        public void recoveryCheckpoint(Member member, long recoveredBytes) {}

        @Override
        public void memberInSync(Member member, Member retired) {}

        @Override
        public void memberRemoved(Member member) {}
    };
}
