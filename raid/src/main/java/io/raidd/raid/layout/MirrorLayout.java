package io.raidd.raid.layout;

/**
 * Where md puts the copies of one chunk of a RAID-0, RAID-1 or RAID-10 array. The volume is cut
 * into chunks of {@code chunkBytes}; copy {@code j} of volume chunk {@code c} lives on member
 * {@link #disk} at member chunk {@link #memberChunk} (relative to the data offset). RAID-0 has one
 * copy, RAID-1 one per member.
 */
public interface MirrorLayout {

    int raidDisks();

    int copies();

    int disk(long chunk, int copy);

    long memberChunk(long chunk, int copy);

    /**
     * Which copy lives at member chunk {@code memberChunk} of member {@code disk}: {@code chunk *
     * copies() + copy}, or -1 when that member chunk holds no copy of a chunk below {@code
     * volumeChunks}. The inverse of {@link #disk} and {@link #memberChunk}; a rebuild walks a member
     * in its own order with it.
     */
    long locate(int disk, long memberChunk, long volumeChunks);
}
