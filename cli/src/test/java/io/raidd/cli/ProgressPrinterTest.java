package io.raidd.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raidd.cli.control.VolumeStatus;
import io.raidd.cli.control.VolumeStatus.SyncStatus;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class ProgressPrinterTest {
    private long nowNs;

    private static VolumeStatus at(long done, long total) {
        return new VolumeStatus(
                "vol0",
                "u",
                5,
                "left-symmetric",
                65536,
                total * 2,
                "rebuilding",
                false,
                List.of(),
                new SyncStatus("rebuild", done, total, 100L << 20, 3, 0),
                1,
                Long.MAX_VALUE,
                List.of(),
                VolumeStatus.IoCounters.NONE);
    }

    @Test
    void plainOutputEveryTenPercentOrEveryFewSecondsNeverMoreThanOnePerReport() {
        StringWriter text = new StringWriter();
        ProgressPrinter p = new ProgressPrinter(new PrintWriter(text), false, () -> nowNs);
        p.progress(at(0, 1000)); // the first one is always shown
        nowNs += TimeUnit.SECONDS.toNanos(1);
        p.progress(at(10, 1000)); // same decile, 1 s later: not shown
        nowNs += TimeUnit.SECONDS.toNanos(1);
        p.progress(at(101, 1000)); // crossed 10 %
        nowNs += TimeUnit.SECONDS.toNanos(1);
        p.progress(at(150, 1000)); // not shown
        nowNs += TimeUnit.SECONDS.toNanos(5);
        p.progress(at(160, 1000)); // 6 s since the last line
        p.progress(at(999, 1000)); // several deciles at once: one line
        p.finish();
        String[] lines = text.toString().split("\n");
        assertEquals(4, lines.length, text.toString());
        assertEquals("vol0: rebuild 0.0% 0 B/1000 B at 100.0 MiB/s, ETA 0:00:03 (rebuilding)", lines[0]);
        assertTrue(lines[1].startsWith("vol0: rebuild 10.1% "), lines[1]);
        assertTrue(lines[2].startsWith("vol0: rebuild 16.0% "), lines[2]);
        assertTrue(lines[3].startsWith("vol0: rebuild 99.9% "), lines[3]);
    }

    @Test
    void terminalOutputRedrawsOneLine() {
        StringWriter text = new StringWriter();
        ProgressPrinter p = new ProgressPrinter(new PrintWriter(text), true, () -> nowNs);
        p.progress(at(500, 1000));
        p.progress(at(750, 1000));
        p.finish();
        String out = text.toString();
        assertEquals(
                "\r[###############---------------]  50.0%   100.0 MiB/s  ETA 0:00:03  rebuild vol0"
                        + "\r[######################--------]  75.0%   100.0 MiB/s  ETA 0:00:03  rebuild vol0\n",
                out);
    }
}
