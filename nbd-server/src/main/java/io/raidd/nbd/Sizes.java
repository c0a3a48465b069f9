package io.raidd.nbd;

import java.util.Locale;

/** Byte counts for logs: {@code 512 B}, {@code 64 KiB}, {@code 1.5 MiB}. */
final class Sizes {
    static String format(long bytes) {
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
        double v = bytes;
        int u = 0;
        while (Math.abs(v) >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        if (u == 0) {
            return bytes + " B";
        }
        return v == Math.rint(v) ? (long) v + " " + units[u] : String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    }

    private Sizes() {}
}
