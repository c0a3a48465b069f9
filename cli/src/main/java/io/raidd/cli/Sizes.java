package io.raidd.cli;

import java.util.Locale;

/** Sizes as operators write them: {@code 4096}, {@code 512K}, {@code 1G}, {@code 64KiB} (binary units). */
public final class Sizes {
    private Sizes() {}

    public static long parse(String text) {
        String s = text.trim().toUpperCase(Locale.ROOT);
        if (s.endsWith("IB")) {
            s = s.substring(0, s.length() - 2);
        } else if (s.endsWith("B") && s.length() > 1 && !Character.isDigit(s.charAt(s.length() - 2))) {
            s = s.substring(0, s.length() - 1);
        }
        int shift = 0;
        if (!s.isEmpty()) {
            switch (s.charAt(s.length() - 1)) {
                case 'K' -> shift = 10;
                case 'M' -> shift = 20;
                case 'G' -> shift = 30;
                case 'T' -> shift = 40;
                case 'S' -> shift = -9; // 512-byte sectors, as md counts
                default -> shift = 0;
            }
        }
        String digits = shift == 0 ? s : s.substring(0, s.length() - 1);
        long value;
        try {
            value = Long.parseLong(digits);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not a size: '" + text + "' (examples: 4096, 512K, 1G)");
        }
        if (value < 0) {
            throw new IllegalArgumentException("size must not be negative: " + text);
        }
        long factor = shift == -9 ? 512 : 1L << shift;
        if (value > Long.MAX_VALUE / factor) {
            throw new IllegalArgumentException("size too large: " + text);
        }
        return value * factor;
    }

    /** Human form with a binary unit, as mdadm prints ("1023.00 MiB"). */
    public static String human(long bytes) {
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
        double v = bytes;
        int u = 0;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return u == 0 ? bytes + " B" : String.format(Locale.ROOT, "%.2f %s", v, units[u]);
    }
}
