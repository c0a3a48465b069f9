package io.raidd.raid.layout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Checks {@link Raid10Layout} against a literal transcription, in sectors, of the kernel's {@code
 * setup_geo()}, {@code calc_sectors()}, {@code raid10_size()} and {@code __raid10_find_phys()}.
 */
class Raid10LayoutGoldenTest {
    private static final int CHUNK_SHIFT = 3; // 8 sectors = 4 KiB chunks
    private static final long CHUNK_MASK = (1 << CHUNK_SHIFT) - 1;

    /** struct geom, filled as setup_geo() + calc_sectors() do. */
    private static final class Geom {
        int raidDisks;
        int nearCopies;
        int farCopies;
        boolean farOffset;
        int farSetSize;
        long stride;
        long devSectors;
        long arraySectors;
    }

    private static Geom setupGeo(int layout, int disks, long mddevDevSectors) {
        Geom geo = new Geom();
        int nc = layout & 255;
        int fc = (layout >> 8) & 255;
        geo.raidDisks = disks;
        geo.nearCopies = nc;
        geo.farCopies = fc;
        geo.farOffset = (layout & (1 << 16)) != 0;
        switch (layout >> 17) {
            case 0:
                geo.farSetSize = disks;
                break;
            case 2:
                geo.farSetSize = fc * nc;
                break;
            default:
                throw new AssertionError();
        }
        // calc_sectors()
        long size = mddevDevSectors >> CHUNK_SHIFT;
        size = size / fc;
        size = size * disks;
        size = size / nc;
        size = size * (nc * fc);
        size = (size + disks - 1) / disks;
        geo.devSectors = size << CHUNK_SHIFT;
        if (geo.farOffset) {
            geo.stride = 1 << CHUNK_SHIFT;
        } else {
            size = size / fc;
            geo.stride = size << CHUNK_SHIFT;
        }
        // raid10_size(mddev, 0, 0)
        long a = geo.devSectors >> CHUNK_SHIFT;
        a = a / fc;
        a = a * disks;
        a = a / nc;
        geo.arraySectors = a << CHUNK_SHIFT;
        return geo;
    }

    /** __raid10_find_phys(): devnum and addr of every copy, in r10bio->devs[] order. */
    private static long[][] findPhys(Geom geo, long virtSector) {
        long[][] devs = new long[geo.nearCopies * geo.farCopies][2];
        int slot = 0;
        int lastFarSetStart = (geo.raidDisks / geo.farSetSize) - 1;
        lastFarSetStart *= geo.farSetSize;
        int lastFarSetSize = geo.farSetSize;
        lastFarSetSize += (geo.raidDisks % geo.farSetSize);
        long chunk = virtSector >> CHUNK_SHIFT;
        long sector = virtSector & CHUNK_MASK;
        chunk *= geo.nearCopies;
        long stripe = chunk;
        int dev = (int) (stripe % geo.raidDisks);
        stripe = stripe / geo.raidDisks;
        if (geo.farOffset) stripe *= geo.farCopies;
        sector += stripe << CHUNK_SHIFT;
        for (int n = 0; n < geo.nearCopies; n++) {
            int d = dev;
            int set;
            long s = sector;
            devs[slot][0] = d;
            devs[slot][1] = s;
            slot++;
            for (int f = 1; f < geo.farCopies; f++) {
                set = d / geo.farSetSize;
                d += geo.nearCopies;
                if ((geo.raidDisks % geo.farSetSize) != 0 && (d > lastFarSetStart)) {
                    d -= lastFarSetStart;
                    d %= lastFarSetSize;
                    d += lastFarSetStart;
                } else {
                    d %= geo.farSetSize;
                    d += geo.farSetSize * set;
                }
                s += geo.stride;
                devs[slot][0] = d;
                devs[slot][1] = s;
                slot++;
            }
            dev++;
            if (dev >= geo.raidDisks) {
                dev = 0;
                sector += (CHUNK_MASK + 1);
            }
        }
        return devs;
    }

    private static final int[] LAYOUTS = {
        0x102, 0x103, 0x104, 0x201, 0x301, 0x10201, 0x10301, 0x202, 0x10202, 0x40201, 0x40301, 0x40202, 0x50201
    };

    @Test
    void everyLayoutMatchesKernel() {
        long memberSectors = 1000 * 8 + 5; // not a chunk multiple on purpose
        int checked = 0;
        for (int layout : LAYOUTS) {
            int copies = (layout & 255) * ((layout >> 8) & 255);
            for (int n = 2; n <= 9; n++) {
                if ((layout & 0xff) > 1 && (layout & 0x10000) != 0) {
                    // near+offset mixes put copies of different chunks on the same member chunk
                    // (see below); raidd refuses them rather than lose data.
                    assertEquals(
                            true,
                            Geometry.problem(10, layout, 4096, n, memberSectors * 512)
                                    .contains("not supported"));
                    continue;
                }
                if (copies > n) {
                    assertEquals(
                            true,
                            Geometry.problem(10, layout, 4096, n, memberSectors * 512)
                                    .contains("needs at least"));
                    continue;
                }
                Geom geo = setupGeo(layout, n, memberSectors);
                Geometry g = Geometry.of(10, layout, 4096, n, memberSectors * 512);
                String where = Geometry.layoutName(10, layout) + " (0x" + Integer.toHexString(layout) + ") n=" + n;
                assertEquals(geo.devSectors * 512, g.memberUsedBytes(), where + " used");
                assertEquals(geo.arraySectors * 512, g.volumeSizeBytes(), where + " volume");
                MirrorLayout ml = g.mirrorLayout();
                assertEquals(copies, ml.copies());
                Map<Long, Long> owner = new HashMap<>();
                long chunks = g.volumeSizeBytes() / 4096;
                for (long c = 0; c < chunks; c++) {
                    long[][] kernel = findPhys(geo, (c << CHUNK_SHIFT) + 5);
                    for (int j = 0; j < copies; j++) {
                        String at = where + " chunk " + c + " copy " + j;
                        assertEquals(kernel[j][0], ml.disk(c, j), at + " disk");
                        assertEquals(kernel[j][1], (ml.memberChunk(c, j) << CHUNK_SHIFT) + 5, at + " sector");
                        long place = ml.memberChunk(c, j) * 64 + ml.disk(c, j);
                        // Every copy must own its member chunk and stay inside md's used area.
                        Long prev = owner.put(place, c);
                        if (!(layout == 0x10202 || layout == 0x40202)) {
                            // md's near+offset mixes can reuse a member chunk; md accepts them anyway.
                            assertNull(prev, at + " collides with chunk " + prev);
                            assertEquals(true, ml.memberChunk(c, j) < g.memberUsedBytes() / 4096, at + " beyond size");
                        }
                        for (int o = 0; o < j; o++) {
                            assertNotEquals(ml.disk(c, o), ml.disk(c, j), at + " shares a disk with copy " + o);
                        }
                    }
                    checked++;
                }
            }
        }
        assertEquals(true, checked > 10000);
    }

    @Test
    void md4NearDiagramOnThreeDisks() {
        // md(4): RAID10 near=2 on 3 devices:  A1 A1 A2 / A2 A3 A3 / A4 A4 A5 / A5 A6 A6
        MirrorLayout ml = Geometry.of(10, 0x102, 4096, 3, 1 << 20).mirrorLayout();
        String[][] grid = new String[4][3];
        for (int c = 0; c < 6; c++) {
            for (int j = 0; j < 2; j++) {
                grid[(int) ml.memberChunk(c, j)][ml.disk(c, j)] = "A" + (c + 1);
            }
        }
        assertEquals("A1 A1 A2", String.join(" ", grid[0]));
        assertEquals("A2 A3 A3", String.join(" ", grid[1]));
        assertEquals("A4 A4 A5", String.join(" ", grid[2]));
        assertEquals("A5 A6 A6", String.join(" ", grid[3]));
    }

    @Test
    void farDiagramFromRaid10Comment() {
        // raid10.c: 'far' without far sets on 4 and 5 disks: second half is rotated by one disk.
        Geometry g = Geometry.of(10, 0x201, 4096, 5, 10 * 4096);
        MirrorLayout ml = g.mirrorLayout();
        long stride = g.memberUsedBytes() / 4096 / 2;
        assertEquals(5, stride);
        // A B C D E ... / E A B C D
        for (int c = 0; c < 5; c++) {
            assertEquals(c, ml.disk(c, 0));
            assertEquals(0, ml.memberChunk(c, 0));
            assertEquals((c + 1) % 5, ml.disk(c, 1));
            assertEquals(stride, ml.memberChunk(c, 1));
        }
    }

    @Test
    void offsetLayoutPutsCopyInNextChunkRow() {
        MirrorLayout ml = Geometry.of(10, 0x10201, 4096, 3, 1 << 20).mirrorLayout();
        // o2 on 3 disks: row 0 = A B C, row 1 = C A B, row 2 = D E F, row 3 = F D E
        assertEquals(0, ml.memberChunk(0, 0));
        assertEquals(1, ml.memberChunk(0, 1));
        assertEquals(1, ml.disk(0, 1));
        assertEquals(0, ml.disk(2, 1));
        assertEquals(2, ml.memberChunk(3, 0));
        assertEquals(3, ml.memberChunk(3, 1));
    }
}
