package io.raidd.testimages;

import io.raidd.blockdev.BlockDevice;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * What Linux md says each member of an array must hold, computed here from the member bytes alone,
 * independently of raidd's engine: md's RAID-4/5/6 layouts (raid5.c raid5_compute_sector), P as
 * XOR and Q over GF(2^8) with polynomial 0x11d in md's syndrome order (which starts after Q and
 * skips P), and RAID-1 / RAID-10 near copies being equal. Byte at a time, for tests only.
 */
public final class MdOracle {
    private MdOracle() {}

    /** One member as the oracle reads it: the device and where its data area starts. */
    public record Member(BlockDevice device, long dataOffsetBytes) {}

    /**
     * Checks every stripe's parity (RAID-4/5/6) or every chunk's copies (RAID-1, RAID-10 near
     * layouts) over the first {@code memberBytes} of each member's data area; returns one line per
     * inconsistent stripe or chunk (at most {@code maxReports}), empty when md would find nothing.
     */
    public static List<String> mismatches(
            List<Member> members, int level, int layout, int chunkBytes, long memberBytes, int maxReports)
            throws IOException {
        return switch (level) {
            case 4, 5, 6 -> parity(members, level, level == 4 ? 5 : layout, chunkBytes, memberBytes, maxReports);
            case 1 -> copies(members, members.size(), 1, chunkBytes, memberBytes, maxReports);
            case 10 -> {
                int near = layout & 0xff;
                int far = (layout >> 8) & 0xff;
                if (far != 1) {
                    throw new IllegalArgumentException("the oracle knows RAID-10 near layouts only");
                }
                yield copies(members, near, members.size(), chunkBytes, memberBytes, maxReports);
            }
            default -> throw new IllegalArgumentException("no redundancy to check at RAID-" + level);
        };
    }

    /** md's P disk, Q disk (-1 for one parity) and data disks of one stripe. */
    static int[] stripeMap(int level, int layout, int n, long stripe) {
        int parities = level == 6 ? 2 : 1;
        int k = n - parities;
        int[] map = new int[k + 2]; // data 0..k-1, then P, then Q
        int pd;
        int qd = -1;
        int s = (int) (stripe % n);
        switch (layout) {
            case 0, 1 -> { // left / right asymmetric
                pd = layout == 0 ? n - 1 - s : s;
                if (parities == 2) {
                    qd = pd + 1;
                    if (pd == n - 1) {
                        qd = 0;
                    }
                }
                for (int i = 0; i < k; i++) {
                    int d = i;
                    if (parities == 1) {
                        d = i < pd ? i : i + 1;
                    } else if (pd == n - 1) {
                        d = i + 1;
                    } else if (i >= pd) {
                        d = i + 2;
                    }
                    map[i] = d;
                }
            }
            case 2, 3 -> { // left / right symmetric
                pd = layout == 2 ? n - 1 - s : s;
                if (parities == 2) {
                    qd = (pd + 1) % n;
                }
                for (int i = 0; i < k; i++) {
                    map[i] = (pd + parities + i) % n;
                }
            }
            case 4 -> { // parity first
                pd = 0;
                qd = parities == 2 ? 1 : -1;
                for (int i = 0; i < k; i++) {
                    map[i] = i + parities;
                }
            }
            case 5 -> { // parity last
                pd = k;
                qd = parities == 2 ? k + 1 : -1;
                for (int i = 0; i < k; i++) {
                    map[i] = i;
                }
            }
            default -> throw new IllegalArgumentException("layout " + layout);
        }
        map[k] = pd;
        map[k + 1] = qd;
        return map;
    }

    /** md's syndrome index of each disk: the order starts right after Q and skips P. */
    static int[] syndromeIndex(int n, int pd, int qd) {
        int[] index = new int[n];
        Arrays.fill(index, -1);
        int next = 0;
        for (int step = 1; step <= n; step++) {
            int d = (qd + step) % n;
            if (d != pd && d != qd) {
                index[d] = next++;
            }
        }
        return index;
    }

    static int x2(int a) {
        return ((a << 1) ^ ((a & 0x80) != 0 ? 0x1d : 0)) & 0xff;
    }

    private static List<String> parity(
            List<Member> members, int level, int layout, int chunkBytes, long memberBytes, int maxReports)
            throws IOException {
        int n = members.size();
        int parities = level == 6 ? 2 : 1;
        int k = n - parities;
        List<String> out = new ArrayList<>();
        byte[][] blocks = new byte[n][chunkBytes];
        for (long stripe = 0; stripe < memberBytes / chunkBytes && out.size() < maxReports; stripe++) {
            for (int d = 0; d < n; d++) {
                read(members.get(d), stripe * chunkBytes, blocks[d]);
            }
            int[] map = stripeMap(level, layout, n, stripe);
            int pd = map[k];
            int qd = map[k + 1];
            byte[][] bySyndrome = new byte[k][];
            if (qd >= 0) {
                int[] index = syndromeIndex(n, pd, qd);
                for (int i = 0; i < k; i++) {
                    bySyndrome[index[map[i]]] = blocks[map[i]];
                }
            }
            for (int b = 0; b < chunkBytes; b++) {
                int p = 0;
                for (int i = 0; i < k; i++) {
                    p ^= blocks[map[i]][b] & 0xff;
                }
                if (p != (blocks[pd][b] & 0xff)) {
                    out.add("stripe " + stripe + ": P on member " + pd + " wrong at chunk byte " + b);
                    break;
                }
                if (qd >= 0) {
                    int q = 0;
                    for (int z = k - 1; z >= 0; z--) {
                        q = x2(q) ^ (bySyndrome[z][b] & 0xff);
                    }
                    if (q != (blocks[qd][b] & 0xff)) {
                        out.add("stripe " + stripe + ": Q on member " + qd + " wrong at chunk byte " + b);
                        break;
                    }
                }
            }
        }
        return out;
    }

    /**
     * md's near copies: volume chunk {@code c} has {@code copies} consecutive slots {@code c *
     * copies + j}, slot {@code s} on member {@code s % n} at member chunk {@code s / n} (RAID-1:
     * copies = n, unit = chunkBytes).
     */
    private static List<String> copies(
            List<Member> members, int copies, int unused, int chunkBytes, long memberBytes, int maxReports)
            throws IOException {
        int n = members.size();
        long memberChunks = (memberBytes + chunkBytes - 1) / chunkBytes;
        long volumeChunks = memberChunks * n / copies;
        List<String> out = new ArrayList<>();
        byte[] first = new byte[chunkBytes];
        byte[] other = new byte[chunkBytes];
        for (long c = 0; c < volumeChunks && out.size() < maxReports; c++) {
            for (int j = 0; j < copies; j++) {
                long slot = c * copies + j;
                int d = (int) (slot % n);
                long memberChunk = slot / n;
                int len = (int) Math.min(chunkBytes, memberBytes - memberChunk * chunkBytes);
                if (len <= 0) {
                    continue;
                }
                read(members.get(d), memberChunk * chunkBytes, j == 0 ? first : other);
                if (j > 0 && !Arrays.equals(first, 0, len, other, 0, len)) {
                    out.add("volume chunk " + c + ": copy " + j + " on member " + d + " differs from copy 0");
                    break;
                }
            }
        }
        return out;
    }

    private static void read(Member m, long offset, byte[] into) throws IOException {
        long end = Math.min(m.device().sizeBytes(), m.dataOffsetBytes() + offset + into.length);
        int len = (int) Math.max(0, end - m.dataOffsetBytes() - offset);
        Arrays.fill(into, (byte) 0);
        m.device().read(m.dataOffsetBytes() + offset, ByteBuffer.wrap(into, 0, len));
    }
}
