package io.raidd.raid.layout;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/**
 * Checks {@link Geometry} against an independent transcription of the kernel's address math
 * (drivers/md/raid5.c {@code raid5_compute_sector}, {@code raid6_d0}, {@code raid6_idx_to_slot},
 * {@code set_syndrome_sources}; drivers/md/raid10.c {@code __raid10_find_phys}, {@code
 * raid10_size}) working in 512-byte sectors as the kernel does, plus the literal diagrams of
 * md-format.md. Exhaustive over every stripe residue of every member count in range.
 */
class GeometryGoldenTest {
    private static final int CHUNK_BYTES = 64 * 1024;
    private static final int CHUNK_SECTORS = CHUNK_BYTES / 512;

    /** {pd_idx, qd_idx, dd_idx} and the member sector of array sector {@code sector}. */
    private record Mapped(int pd, int qd, int dd, long memberSector) {}

    /** raid5.c raid5_compute_sector, levels 4/5/6, non-DDF algorithms, written from the source. */
    private static Mapped raid5ComputeSector(int level, int algorithm, int raidDisks, long sector) {
        int maxDegraded = level == 6 ? 2 : 1;
        int dataDisks = raidDisks - maxDegraded;
        long chunkOffset = sector % CHUNK_SECTORS;
        long chunkNumber = sector / CHUNK_SECTORS;
        long stripe = chunkNumber / dataDisks;
        int ddIdx = (int) (chunkNumber % dataDisks);
        int stripe2 = (int) (stripe % raidDisks);
        int pdIdx = -1;
        int qdIdx = -1;
        switch (level) {
            case 4 -> pdIdx = dataDisks;
            case 5 -> {
                switch (algorithm) {
                    case 0 -> { // ALGORITHM_LEFT_ASYMMETRIC
                        pdIdx = dataDisks - stripe2;
                        if (ddIdx >= pdIdx) {
                            ddIdx++;
                        }
                    }
                    case 1 -> { // ALGORITHM_RIGHT_ASYMMETRIC
                        pdIdx = stripe2;
                        if (ddIdx >= pdIdx) {
                            ddIdx++;
                        }
                    }
                    case 2 -> { // ALGORITHM_LEFT_SYMMETRIC
                        pdIdx = dataDisks - stripe2;
                        ddIdx = (pdIdx + 1 + ddIdx) % raidDisks;
                    }
                    case 3 -> { // ALGORITHM_RIGHT_SYMMETRIC
                        pdIdx = stripe2;
                        ddIdx = (pdIdx + 1 + ddIdx) % raidDisks;
                    }
                    case 4 -> { // ALGORITHM_PARITY_0
                        pdIdx = 0;
                        ddIdx++;
                    }
                    case 5 -> pdIdx = dataDisks; // ALGORITHM_PARITY_N
                    default -> throw new AssertionError();
                }
            }
            case 6 -> {
                switch (algorithm) {
                    case 0 -> {
                        pdIdx = raidDisks - 1 - stripe2;
                        qdIdx = pdIdx + 1;
                        if (pdIdx == raidDisks - 1) {
                            ddIdx++; // Q D D D P
                            qdIdx = 0;
                        } else if (ddIdx >= pdIdx) {
                            ddIdx += 2; // D D P Q D
                        }
                    }
                    case 1 -> {
                        pdIdx = stripe2;
                        qdIdx = pdIdx + 1;
                        if (pdIdx == raidDisks - 1) {
                            ddIdx++;
                            qdIdx = 0;
                        } else if (ddIdx >= pdIdx) {
                            ddIdx += 2;
                        }
                    }
                    case 2 -> {
                        pdIdx = raidDisks - 1 - stripe2;
                        qdIdx = (pdIdx + 1) % raidDisks;
                        ddIdx = (pdIdx + 2 + ddIdx) % raidDisks;
                    }
                    case 3 -> {
                        pdIdx = stripe2;
                        qdIdx = (pdIdx + 1) % raidDisks;
                        ddIdx = (pdIdx + 2 + ddIdx) % raidDisks;
                    }
                    case 4 -> {
                        pdIdx = 0;
                        qdIdx = 1;
                        ddIdx += 2;
                    }
                    case 5 -> {
                        pdIdx = dataDisks;
                        qdIdx = dataDisks + 1;
                    }
                    default -> throw new AssertionError();
                }
            }
            default -> throw new AssertionError();
        }
        return new Mapped(pdIdx, qdIdx, ddIdx, stripe * CHUNK_SECTORS + chunkOffset);
    }

    /**
     * raid5.c set_syndrome_sources (non-DDF): walk the disks from raid6_d0 with raid6_next_disk,
     * numbering them with raid6_idx_to_slot. Returns the syndrome slot of every disk (P = k, Q =
     * k + 1).
     */
    private static int[] syndromeSlots(int raidDisks, int pdIdx, int qdIdx) {
        int syndromeDisks = raidDisks - 2;
        int d0 = qdIdx == raidDisks - 1 ? 0 : qdIdx + 1; // raid6_d0
        int[] slotOf = new int[raidDisks];
        int count = 0;
        int i = d0;
        do {
            int slot; // raid6_idx_to_slot
            if (i == pdIdx) {
                slot = syndromeDisks;
            } else if (i == qdIdx) {
                slot = syndromeDisks + 1;
            } else {
                slot = count++;
            }
            slotOf[i] = slot;
            i = i + 1 < raidDisks ? i + 1 : 0; // raid6_next_disk
        } while (i != d0);
        return slotOf;
    }

    private static void checkParity(int level, int layout, int n) {
        Geometry g = Geometry.of(level, layout, CHUNK_BYTES, n, 1L << 30);
        ParityLayout p = g.parityLayout();
        int k = n - (level == 6 ? 2 : 1);
        assertEquals(k, p.dataDisks());
        // Two periods, so a wrong modulus shows up too.
        for (long stripe = 0; stripe < 2L * n + 1; stripe++) {
            for (int i = 0; i < k; i++) {
                long sector = (stripe * k + i) * CHUNK_SECTORS + 5;
                Mapped m = raid5ComputeSector(level, layout, n, sector);
                String where = "RAID-" + level + " layout " + layout + " n=" + n + " stripe " + stripe + " data " + i;
                assertEquals(m.pd(), p.pDisk(stripe), where + " P");
                assertEquals(m.qd(), p.qDisk(stripe), where + " Q");
                assertEquals(m.dd(), p.dataDisk(stripe, i), where + " data disk");
                assertEquals(stripe * CHUNK_SECTORS + 5, m.memberSector(), where + " member sector");
                if (level == 6) {
                    int[] slots = syndromeSlots(n, m.pd(), m.qd());
                    assertEquals(slots[m.dd()], p.syndromeIndex(stripe, i), where + " syndrome index");
                    if (layout == Geometry.LEFT_SYMMETRIC || layout == Geometry.RIGHT_SYMMETRIC) {
                        assertEquals(i, p.syndromeIndex(stripe, i), where + " symmetric syndrome = data index");
                    }
                }
            }
        }
    }

    @Test
    void raid5EveryLayoutEveryResidue() {
        for (int n = 3; n <= 8; n++) {
            for (int layout = 0; layout <= 5; layout++) {
                checkParity(5, layout, n);
            }
        }
    }

    @Test
    void raid6EveryLayoutEveryResidue() {
        for (int n = 4; n <= 8; n++) {
            for (int layout = 0; layout <= 5; layout++) {
                checkParity(6, layout, n);
            }
        }
    }

    @Test
    void raid4ParityOnLastDisk() {
        for (int n = 2; n <= 8; n++) {
            checkParity(4, 0, n);
            // mdadm may record RAID-4 as parity-last (5); md ignores the layout for level 4.
            Geometry g5 = Geometry.of(4, Geometry.PARITY_LAST, CHUNK_BYTES, n, 1L << 30);
            for (long s = 0; s < n; s++) {
                assertEquals(n - 1, g5.parityLayout().pDisk(s));
            }
        }
    }

    /** Cells of md-format.md's diagrams: "P", "Q" or "D<block>". */
    private static void checkDiagram(int level, int n, String diagram) {
        Geometry g = Geometry.of(level, Geometry.LEFT_SYMMETRIC, CHUNK_BYTES, n, 1L << 30);
        ParityLayout p = g.parityLayout();
        int k = p.dataDisks();
        String[] rows = diagram.strip().split("\n");
        for (int stripe = 0; stripe < rows.length; stripe++) {
            String[] cells = rows[stripe].trim().split("\\s+");
            assertEquals(n, cells.length);
            for (int disk = 0; disk < n; disk++) {
                String cell = cells[disk];
                if (cell.equals("P")) {
                    assertEquals(disk, p.pDisk(stripe), "stripe " + stripe + " P");
                } else if (cell.equals("Q")) {
                    assertEquals(disk, p.qDisk(stripe), "stripe " + stripe + " Q");
                } else {
                    int block = Integer.parseInt(cell.substring(1));
                    assertEquals(stripe, block / k, cell + " belongs to stripe " + stripe);
                    assertEquals(disk, p.dataDisk(stripe, block % k), cell + " on disk " + disk);
                }
            }
        }
    }

    @Test
    void raid6LeftSymmetricDiagramFromReference() {
        checkDiagram(6, 5, """
                Q   D0  D1  D2  P
                D3  D4  D5  P   Q
                D7  D8  P   Q   D6
                D11 P   Q   D9  D10
                P   Q   D12 D13 D14
                """);
        // "Q of stripe 2 = D6 + 2*D7 + 4*D8": syndrome exponents 0, 1, 2 for D6, D7, D8.
        ParityLayout p = Geometry.of(6, 2, CHUNK_BYTES, 5, 1L << 30).parityLayout();
        assertEquals(0, p.syndromeIndex(2, 0));
        assertEquals(1, p.syndromeIndex(2, 1));
        assertEquals(2, p.syndromeIndex(2, 2));
    }

    @Test
    void raid5LeftSymmetricDiagramFromReference() {
        checkDiagram(5, 4, """
                D0 D1 D2 P
                D4 D5 P D3
                D8 P D6 D7
                P D9 D10 D11
                """);
    }

    /** raid10.c __raid10_find_phys for far_copies = 1: {dev, device sector} of every near copy. */
    private static long[][] raid10FindPhys(int raidDisks, int nearCopies, long arraySector) {
        long chunk = arraySector / CHUNK_SECTORS;
        long sector = arraySector % CHUNK_SECTORS;
        chunk *= nearCopies;
        long stripe = chunk;
        int dev = (int) (stripe % raidDisks);
        stripe /= raidDisks;
        sector += stripe * CHUNK_SECTORS;
        long[][] copies = new long[nearCopies][];
        for (int n = 0; n < nearCopies; n++) {
            copies[n] = new long[] {dev, sector};
            dev++;
            if (dev >= raidDisks) {
                dev = 0;
                sector += CHUNK_SECTORS;
            }
        }
        return copies;
    }

    @Test
    void raid10NearEveryMemberCountIncludingOdd() {
        for (int n = 2; n <= 8; n++) {
            for (int near = 2; near <= Math.min(n, 4); near++) {
                Geometry g = Geometry.of(10, 0x100 | near, CHUNK_BYTES, n, 1L << 30);
                MirrorLayout m = g.mirrorLayout();
                assertEquals(near, m.copies());
                for (long c = 0; c < 3L * n; c++) {
                    long[][] phys = raid10FindPhys(n, near, c * CHUNK_SECTORS + 7);
                    for (int copy = 0; copy < near; copy++) {
                        String where = "n=" + n + " near=" + near + " chunk " + c + " copy " + copy;
                        assertEquals(phys[copy][0], m.disk(c, copy), where + " disk");
                        assertEquals(phys[copy][1], m.memberChunk(c, copy) * CHUNK_SECTORS + 7, where + " sector");
                    }
                }
            }
        }
    }

    @Test
    void raid0AndRaid1Mapping() {
        for (int n = 2; n <= 8; n++) {
            MirrorLayout r0 = Geometry.of(0, 0, CHUNK_BYTES, n, 1L << 30).mirrorLayout();
            MirrorLayout r1 = Geometry.of(1, 0, 0, n, 1L << 30).mirrorLayout();
            assertEquals(1, r0.copies());
            assertEquals(n, r1.copies());
            for (long c = 0; c < 3L * n; c++) {
                // raid0.c map_sector with one zone: chunk c on disk c % n at device chunk c / n.
                assertEquals(c % n, r0.disk(c, 0));
                assertEquals(c / n, r0.memberChunk(c, 0));
                for (int copy = 0; copy < n; copy++) {
                    assertEquals(copy, r1.disk(c, copy), "RAID-1 copy j on member j");
                    assertEquals(c, r1.memberChunk(c, copy));
                }
            }
        }
    }

    /** raid10.c raid10_size for far_copies = 1, in sectors. */
    private static long raid10SizeSectors(long deviceSectors, int raidDisks, int near) {
        long size = deviceSectors / CHUNK_SECTORS; // >> chunk_shift
        size = size * raidDisks;
        size = size / near;
        return size * CHUNK_SECTORS;
    }

    @Test
    void volumeSizes() {
        long[] components = {1L << 30, (1L << 30) + 4096, (3L << 20) + 65535, 10L * CHUNK_BYTES + 12345};
        for (long comp : components) {
            long chunks = comp / CHUNK_BYTES;
            for (int n = 2; n <= 8; n++) {
                assertEquals(
                        n * chunks * CHUNK_BYTES,
                        Geometry.of(0, 0, CHUNK_BYTES, n, comp).volumeSizeBytes());
                assertEquals(comp / 4096 * 4096, Geometry.of(1, 0, 0, n, comp).volumeSizeBytes());
                assertEquals(
                        (n - 1) * chunks * CHUNK_BYTES,
                        Geometry.of(4, 0, CHUNK_BYTES, n, comp).volumeSizeBytes());
                if (n >= 3) {
                    assertEquals(
                            (n - 1) * chunks * CHUNK_BYTES,
                            Geometry.of(5, 2, CHUNK_BYTES, n, comp).volumeSizeBytes());
                }
                if (n >= 4) {
                    assertEquals(
                            (n - 2) * chunks * CHUNK_BYTES,
                            Geometry.of(6, 2, CHUNK_BYTES, n, comp).volumeSizeBytes());
                }
                for (int near = 2; near <= Math.min(n, 4); near++) {
                    Geometry g = Geometry.of(10, 0x100 | near, CHUNK_BYTES, n, comp);
                    assertEquals(raid10SizeSectors(comp / 512, n, near) * 512, g.volumeSizeBytes(), "n=" + n);
                    assertEquals(chunks * CHUNK_BYTES, g.memberUsedBytes());
                }
            }
        }
    }

    @Test
    void toleratedFailures() {
        assertEquals(0, Geometry.of(0, 0, CHUNK_BYTES, 4, 1L << 30).tolerableFailures());
        assertEquals(3, Geometry.of(1, 0, 0, 4, 1L << 30).tolerableFailures());
        assertEquals(1, Geometry.of(5, 2, CHUNK_BYTES, 4, 1L << 30).tolerableFailures());
        assertEquals(2, Geometry.of(6, 2, CHUNK_BYTES, 6, 1L << 30).tolerableFailures());
        assertEquals(1, Geometry.of(10, 0x102, CHUNK_BYTES, 5, 1L << 30).tolerableFailures());
        assertEquals(2, Geometry.of(10, 0x103, CHUNK_BYTES, 6, 1L << 30).tolerableFailures());
    }
}
