package io.raidd.raid.layout;

/**
 * md's RAID-0 (one zone) and RAID-1 layouts as one rule: volume chunk {@code c} has {@code copies}
 * consecutive slots {@code c * copies + j}; slot {@code s} lives on member {@code s % raidDisks} at
 * member chunk {@code s / raidDisks} (raid0.c for one copy; RAID-1 is copies = raidDisks). RAID-10
 * has its own {@link Raid10Layout}.
 */
final class MdMirrorLayout implements MirrorLayout {
    private final int n;
    private final int copies;

    MdMirrorLayout(int raidDisks, int copies) {
        this.n = raidDisks;
        this.copies = copies;
    }

    @Override
    public int raidDisks() {
        return n;
    }

    @Override
    public int copies() {
        return copies;
    }

    @Override
    public int disk(long chunk, int copy) {
        return (int) ((chunk * copies + copy) % n);
    }

    @Override
    public long memberChunk(long chunk, int copy) {
        return (chunk * copies + copy) / n;
    }

    @Override
    public long locate(int disk, long memberChunk, long volumeChunks) {
        long slot = memberChunk * n + disk;
        return slot / copies < volumeChunks ? slot : -1;
    }
}
