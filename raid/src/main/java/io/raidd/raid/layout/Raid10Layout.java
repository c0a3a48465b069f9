package io.raidd.raid.layout;

/**
 * md RAID-10 near, far and offset layouts, transcribed from {@code __raid10_find_phys()}, {@code
 * setup_geo()}, {@code calc_sectors()} and {@code raid10_size()} in drivers/md/raid10.c. Arithmetic
 * is in chunks instead of sectors (md's sector offset inside a chunk is carried unchanged).
 *
 * <p>The layout number packs near copies in bits 0..7, far copies in bits 8..15, "offset" in bit 16
 * and the far-set rule in bits 17..18 (0: the far set is all disks; 2: a set is near*far disks).
 * Copies are numbered as md fills {@code r10bio->devs[]}: copy {@code j} is near copy {@code j /
 * far} and far copy {@code j % far}.
 */
public final class Raid10Layout implements MirrorLayout {
    private final int layoutCode;
    private final int raidDisks;
    private final int nearCopies;
    private final int farCopies;
    private final boolean farOffset;
    private final int farSetSize;
    private final int lastFarSetStart;
    private final int lastFarSetSize;
    private final long strideChunks;

    /**
     * @param usedChunksPerMember md's {@code conf->dev_sectors} in chunks (see {@link
     *     #usedChunksPerMember}); it fixes the far-copy stride
     */
    Raid10Layout(int layoutCode, int raidDisks, long usedChunksPerMember) {
        String problem = validate(layoutCode, raidDisks);
        if (problem != null) {
            throw new IllegalArgumentException(problem);
        }
        this.layoutCode = layoutCode;
        this.raidDisks = raidDisks;
        this.nearCopies = near(layoutCode);
        this.farCopies = far(layoutCode);
        this.farOffset = (layoutCode & 0x10000) != 0;
        this.farSetSize = (layoutCode >> 17) == 2 ? nearCopies * farCopies : raidDisks;
        this.lastFarSetStart = (raidDisks / farSetSize - 1) * farSetSize;
        this.lastFarSetSize = farSetSize + raidDisks % farSetSize;
        this.strideChunks = farOffset ? 1 : usedChunksPerMember / farCopies;
    }

    static int near(int layoutCode) {
        return layoutCode & 0xff;
    }

    static int far(int layoutCode) {
        return (layoutCode >> 8) & 0xff;
    }

    /** A one-line reason when md would refuse this RAID-10 layout on {@code raidDisks}, else null. */
    static String validate(int layoutCode, int raidDisks) {
        if ((layoutCode >> 19) != 0 || (layoutCode >> 17) == 3) {
            return "RAID-10 layout 0x" + Integer.toHexString(layoutCode) + " has unknown bits";
        }
        if ((layoutCode >> 17) == 1) {
            return "RAID-10 layout 0x" + Integer.toHexString(layoutCode)
                    + " uses md's withdrawn far-set rule 1 (not supported)";
        }
        int nc = near(layoutCode);
        int fc = far(layoutCode);
        int copies = nc * fc;
        if (nc > 1 && fc > 1 && (layoutCode & 0x10000) != 0) {
            // md maps two copies of different chunks onto the same member chunk in these layouts.
            return "RAID-10 layout " + Geometry.layoutName(10, layoutCode)
                    + " (near and offset copies together) is not supported";
        }
        if (nc < 1 || fc < 1 || copies < 2) {
            return "RAID-10 layout " + Geometry.layoutName(10, layoutCode) + " has fewer than 2 copies";
        }
        if (copies > raidDisks) {
            return "RAID-10 layout " + Geometry.layoutName(10, layoutCode) + " needs at least " + copies
                    + " members, got " + raidDisks;
        }
        return null;
    }

    /**
     * md's {@code calc_sectors()}: the chunks of each member the array uses, given the member's
     * usable chunks ("size" / chunk).
     */
    static long usedChunksPerMember(int layoutCode, int raidDisks, long memberChunks) {
        int nc = near(layoutCode);
        int fc = far(layoutCode);
        long arrayChunks = memberChunks / fc * raidDisks / nc;
        long used = arrayChunks * (long) (nc * fc);
        return (used + raidDisks - 1) / raidDisks;
    }

    /** md's {@code raid10_size()}: volume chunks for members using {@code usedChunksPerMember}. */
    static long volumeChunks(int layoutCode, int raidDisks, long usedChunksPerMember) {
        return usedChunksPerMember / far(layoutCode) * raidDisks / near(layoutCode);
    }

    public int layoutCode() {
        return layoutCode;
    }

    public int nearCopies() {
        return nearCopies;
    }

    public int farCopies() {
        return farCopies;
    }

    public boolean farOffset() {
        return farOffset;
    }

    @Override
    public int raidDisks() {
        return raidDisks;
    }

    @Override
    public int copies() {
        return nearCopies * farCopies;
    }

    @Override
    public int disk(long chunk, int copy) {
        checkCopy(copy);
        long first = chunk * nearCopies;
        int dev = (int) (first % raidDisks) + copy / farCopies;
        if (dev >= raidDisks) {
            dev -= raidDisks;
        }
        for (int f = copy % farCopies; f > 0; f--) {
            dev = nextFarDisk(dev);
        }
        return dev;
    }

    @Override
    public long memberChunk(long chunk, int copy) {
        checkCopy(copy);
        long first = chunk * nearCopies;
        long stripe = first / raidDisks;
        if (farOffset) {
            stripe *= farCopies;
        }
        // md advances to the next member chunk when the near copies wrap past the last disk.
        if ((int) (first % raidDisks) + copy / farCopies >= raidDisks) {
            stripe++;
        }
        return stripe + (copy % farCopies) * strideChunks;
    }

    /**
     * Searches the few chunks whose copies can land on {@code memberChunk}: a copy's member chunk is
     * its row ({@code chunk * near / raidDisks}, times far copies for the offset layout), plus one
     * where near copies wrap past the last disk, plus its far copy's stride, so each far copy
     * index gives at most two candidate rows.
     */
    @Override
    public long locate(int disk, long memberChunk, long volumeChunks) {
        int copies = copies();
        for (int f = 0; f < farCopies; f++) {
            long rest = memberChunk - (long) f * strideChunks;
            if (rest < 0) {
                break;
            }
            for (int wrap = 0; wrap <= 1; wrap++) {
                long row = rest - wrap;
                if (farOffset) {
                    if (row < 0 || row % farCopies != 0) {
                        continue;
                    }
                    row /= farCopies;
                }
                if (row < 0) {
                    continue;
                }
                long firstChunk = (row * raidDisks + nearCopies - 1) / nearCopies;
                long lastChunk = ((row + 1) * raidDisks - 1) / nearCopies;
                for (long chunk = firstChunk; chunk <= lastChunk && chunk < volumeChunks; chunk++) {
                    for (int copy = f; copy < copies; copy += farCopies) {
                        if (disk(chunk, copy) == disk && memberChunk(chunk, copy) == memberChunk) {
                            return chunk * copies + copy;
                        }
                    }
                }
            }
        }
        return -1;
    }

    private int nextFarDisk(int d) {
        int set = d / farSetSize;
        d += nearCopies;
        if ((raidDisks % farSetSize) != 0 && d > lastFarSetStart) {
            d -= lastFarSetStart;
            d %= lastFarSetSize;
            d += lastFarSetStart;
        } else {
            d %= farSetSize;
            d += farSetSize * set;
        }
        return d;
    }

    private void checkCopy(int copy) {
        if (copy < 0 || copy >= nearCopies * farCopies) {
            throw new IndexOutOfBoundsException("copy " + copy + " of " + copies());
        }
    }

    @Override
    public String toString() {
        return "raid10 " + Geometry.layoutName(10, layoutCode) + " on " + raidDisks + " disks";
    }
}
