package io.raidd.cli;

import io.raidd.cli.control.VolumeStatus;
import io.raidd.cli.control.VolumeStatus.SyncStatus;
import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Progress of a volume's sync action while raidctl waits for it. On a terminal: one line redrawn
 * in place (bar, percent, rate, ETA, action). Elsewhere (a log, a pipe): a plain line every
 * {@link #PLAIN_INTERVAL_NS} or every 10 %, whichever comes first, and never more than one per
 * progress report.
 */
final class ProgressPrinter {
    static final long PLAIN_INTERVAL_NS = TimeUnit.SECONDS.toNanos(5);
    private static final int BAR_WIDTH = 30;

    private final PrintWriter out;
    private final boolean terminal;
    private final LongSupplier nanoTime;
    private boolean printed;
    private long lastPrintNs;
    private int lastDecile;
    private String lastAction = "";
    private int lastWidth;

    ProgressPrinter(PrintWriter out, boolean terminal, LongSupplier nanoTime) {
        this.out = out;
        this.terminal = terminal;
        this.nanoTime = nanoTime;
    }

    void progress(VolumeStatus v) {
        SyncStatus s = v.sync();
        if (terminal) {
            String line = terminalLine(v);
            StringBuilder b = new StringBuilder("\r").append(line);
            for (int i = line.length(); i < lastWidth; i++) {
                b.append(' ');
            }
            lastWidth = line.length();
            out.print(b);
            out.flush();
            return;
        }
        long now = nanoTime.getAsLong();
        int decile = decile(s);
        boolean due = !printed
                || now - lastPrintNs >= PLAIN_INTERVAL_NS
                || decile != lastDecile
                || !s.action().equals(lastAction);
        if (due) {
            out.println(plainLine(v));
            out.flush();
            printed = true;
            lastPrintNs = now;
            lastDecile = decile;
            lastAction = s.action();
        }
    }

    /** Ends the redrawn line, so what follows starts on its own. */
    void finish() {
        if (terminal && lastWidth > 0) {
            out.println();
            out.flush();
            lastWidth = 0;
        }
    }

    static String plainLine(VolumeStatus v) {
        return v.name() + ": " + StatusFormat.syncLine(v.sync()) + " (" + v.state() + ")";
    }

    static String terminalLine(VolumeStatus v) {
        SyncStatus s = v.sync();
        if (s.action().equals("idle")) {
            return v.name() + ": " + StatusFormat.syncLine(s) + " (" + v.state() + ")";
        }
        int filled = s.totalBytes() <= 0
                ? 0
                : (int) Math.min(BAR_WIDTH, (long) ((double) BAR_WIDTH * s.doneBytes() / s.totalBytes()));
        StringBuilder bar = new StringBuilder("[");
        for (int i = 0; i < BAR_WIDTH; i++) {
            bar.append(i < filled ? '#' : '-');
        }
        bar.append(']');
        return String.format(
                Locale.ROOT,
                "%s %6s  %12s  ETA %s  %s %s",
                bar,
                StatusFormat.percent(s.doneBytes(), s.totalBytes()),
                StatusFormat.rate(s.bytesPerSecond()),
                StatusFormat.eta(s.etaSeconds()),
                s.action(),
                v.name());
    }

    private static int decile(SyncStatus s) {
        return s.totalBytes() <= 0 ? 0 : (int) Math.min(10, (long) (10.0 * s.doneBytes() / s.totalBytes()));
    }
}
