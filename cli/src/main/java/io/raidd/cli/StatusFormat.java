package io.raidd.cli;

import io.raidd.cli.control.VolumeStatus;
import io.raidd.cli.control.VolumeStatus.MemberStatus;
import io.raidd.cli.control.VolumeStatus.SyncStatus;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** {@code raidctl status} for people, in the manner of {@code mdadm --detail} and {@code zpool status}. */
final class StatusFormat {
    private StatusFormat() {}

    static String render(List<VolumeStatus> volumes) {
        if (volumes.isEmpty()) {
            return "no volumes\n";
        }
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < volumes.size(); i++) {
            if (i > 0) {
                s.append('\n');
            }
            volume(s, volumes.get(i));
        }
        return s.toString();
    }

    private static void volume(StringBuilder s, VolumeStatus v) {
        s.append(v.name()).append('\n');
        field(s, "UUID", v.uuid());
        field(s, "Level", "raid" + v.level());
        field(s, "Layout", v.layout());
        field(s, "Chunk Size", Sizes.human(v.chunkBytes()));
        field(s, "Size", Sizes.human(v.sizeBytes()) + " (" + v.sizeBytes() + " bytes)");
        field(s, "State", v.state() + (v.dirty() ? ", dirty" : ""));
        field(s, "Sync", syncLine(v.sync()));
        field(
                s,
                "Rebuild Rate",
                "min " + rate(v.rebuildMinBytesPerSecond()) + ", max " + rate(v.rebuildMaxBytesPerSecond()));
        if (v.io() != null) {
            field(
                    s,
                    "I/O",
                    v.io().readOps() + " reads (" + Sizes.human(v.io().bytesRead()) + "), " + v.io().writeOps()
                            + " writes (" + Sizes.human(v.io().bytesWritten()) + ")");
        }
        if (v.integrity() != null) {
            VolumeStatus.Integrity t = v.integrity();
            field(
                    s,
                    "Integrity",
                    "reads " + (t.verifyReads() ? "verified" : "NOT verified (--verify-reads off)")
                            + "; tags in memory "
                            + Sizes.human(t.tagCacheHeldBytes()) + " of " + Sizes.human(t.tagCacheBytes()) + " ("
                            + t.tagLoads() + " loads, " + t.tagEvictions() + " evictions)");
        }
        s.append('\n');
        s.append(String.format(
                Locale.ROOT,
                "  %4s  %-10s  %9s  %9s  %8s  %9s  %8s  %s%n",
                "Slot",
                "State",
                "Read Err",
                "Write Err",
                "Timeouts",
                "Corrected",
                "Checksum",
                "Path"));
        long memberBytes = memberDataBytes(v);
        for (MemberStatus m : v.members()) {
            s.append(String.format(
                    Locale.ROOT,
                    "  %4s  %-10s  %9d  %9d  %8d  %9d  %8d  %s%s%n",
                    m.slot() < 0 ? "-" : Integer.toString(m.slot()),
                    m.state(),
                    m.readErrors(),
                    m.writeErrors(),
                    m.timeouts(),
                    m.correctedReads(),
                    m.checksumErrors(),
                    m.path(),
                    memberNote(m, memberBytes)));
        }
        if (v.lostRanges() != null && !v.lostRanges().isEmpty()) {
            s.append('\n');
            s.append("  Lost ranges (data that could not be reconstructed; reads there fail):\n");
            for (String r : v.lostRanges()) {
                s.append("    ").append(r).append('\n');
            }
        }
    }

    private static String memberNote(MemberStatus m, long memberBytes) {
        StringBuilder note = new StringBuilder();
        if (m.replacing() != null) {
            note.append("replacing ").append(m.replacing());
        }
        if (m.recoveredBytes() >= 0 && !m.state().equals("active")) {
            note.append(note.length() > 0 ? ", " : "").append("recovered ");
            if (memberBytes > 0) {
                note.append(percent(Math.min(m.recoveredBytes(), memberBytes), memberBytes));
            } else {
                note.append(Sizes.human(m.recoveredBytes()));
            }
        }
        if (m.reason() != null && !m.reason().isEmpty()) {
            note.append(note.length() > 0 ? ", " : "")
                    .append("(")
                    .append(m.reason())
                    .append(")");
        }
        return note.length() == 0 ? "" : "  " + note;
    }

    /**
     * Data bytes on each member, from the level and the slot count (for "recovered N%"); 0 when
     * that cannot be told from the status.
     */
    static long memberDataBytes(VolumeStatus v) {
        Set<Integer> slots = new HashSet<>();
        for (MemberStatus m : v.members()) {
            if (m.slot() >= 0) {
                slots.add(m.slot());
            }
        }
        int n = slots.size();
        if (n == 0) {
            return 0;
        }
        return switch (v.level()) {
            case 1 -> v.sizeBytes();
            case 4, 5 -> n > 1 ? v.sizeBytes() / (n - 1) : 0;
            case 6 -> n > 2 ? v.sizeBytes() / (n - 2) : 0;
            case 10 -> v.sizeBytes() * raid10Copies(v.layout()) / n;
            default -> 0;
        };
    }

    private static final Pattern COPIES = Pattern.compile("(\\d+)");

    private static long raid10Copies(String layout) {
        long copies = 1;
        Matcher m = COPIES.matcher(layout == null ? "" : layout);
        while (m.find()) {
            copies *= Long.parseLong(m.group(1));
        }
        return copies > 1 ? copies : 2;
    }

    /** "rebuild 42.3% 1.20 GiB/2.80 GiB at 350.1 MiB/s, ETA 0:00:05", or "idle". */
    static String syncLine(SyncStatus sync) {
        if (sync == null || sync.action().equals("idle")) {
            return sync != null && sync.pending() > 0 ? "idle, " + sync.pending() + " queued" : "idle";
        }
        StringBuilder s = new StringBuilder(sync.action());
        s.append(' ').append(percent(sync.doneBytes(), sync.totalBytes()));
        s.append(' ').append(Sizes.human(sync.doneBytes())).append('/').append(Sizes.human(sync.totalBytes()));
        s.append(" at ").append(rate(sync.bytesPerSecond()));
        s.append(", ETA ").append(eta(sync.etaSeconds()));
        if (sync.pending() > 0) {
            s.append(" (").append(sync.pending()).append(" more queued)");
        }
        return s.toString();
    }

    static String percent(long done, long total) {
        if (total <= 0) {
            return "0.0%";
        }
        double p = Math.min(100.0, 100.0 * done / total);
        // Never say 100.0% before it is done.
        if (done < total && p > 99.9) {
            p = 99.9;
        }
        return String.format(Locale.ROOT, "%.1f%%", Math.floor(p * 10) / 10);
    }

    /** A rate with a binary unit, as {@code --speed-limit 50M} means it: "350.1 MiB/s", "unlimited". */
    static String rate(long bytesPerSecond) {
        if (bytesPerSecond == Long.MAX_VALUE) {
            return "unlimited";
        }
        String[] units = {"B/s", "KiB/s", "MiB/s", "GiB/s", "TiB/s"};
        double v = bytesPerSecond;
        int u = 0;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return u == 0 ? bytesPerSecond + " B/s" : String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    }

    /** "0:00:05"; "?" when unknown. */
    static String eta(long seconds) {
        if (seconds < 0) {
            return "?";
        }
        return String.format(Locale.ROOT, "%d:%02d:%02d", seconds / 3600, (seconds / 60) % 60, seconds % 60);
    }

    private static void field(StringBuilder s, String name, String value) {
        s.append(String.format(Locale.ROOT, "%14s : %s%n", name, value));
    }
}
