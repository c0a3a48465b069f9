package io.raidd.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.raidd.cli.control.ControlClient;
import io.raidd.cli.control.ControlException;
import io.raidd.cli.control.ControlPath;
import io.raidd.cli.control.ControlProtocol;
import io.raidd.cli.control.ControlRequest;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code raidctl scrub}: verify every block of a volume against its tags and parity, and repair. */
@Command(
        name = "scrub",
        mixinStandardHelpOptions = true,
        description = {
            "Scrubs a volume: reads every stripe, checks integrity tags and parity (P and Q) or the copies,",
            "says which member holds each bad block and where, and in repair mode rewrites what was proven bad."
        },
        subcommands = {
            ScrubCommand.Start.class,
            ScrubCommand.Pause.class,
            ScrubCommand.Resume.class,
            ScrubCommand.Status.class
        })
final class ScrubCommand implements Runnable {
    @ParentCommand
    RaidctlMain parent;

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** What every scrub subcommand shares: the connection and the printing. */
    abstract static class Sub implements Callable<Integer> {
        @ParentCommand
        ScrubCommand scrub;

        @Spec
        CommandSpec spec;

        @Parameters(index = "0", paramLabel = "VOLUME")
        String volume;

        PrintWriter out() {
            return spec.commandLine().getOut();
        }

        PrintWriter err() {
            return spec.commandLine().getErr();
        }

        JsonNode call(String action, boolean repair) throws IOException, ControlException {
            try (ControlClient c = ControlClient.connect(ControlPath.resolve(scrub.parent.control))) {
                return c.call(new ControlRequest.Scrub(volume, action, repair));
            }
        }

        boolean terminal() {
            return scrub.parent.terminal;
        }
    }

    @Command(
            name = "start",
            mixinStandardHelpOptions = true,
            description = {
                "Starts a scrub of the whole volume (repair mode unless --check). It runs in the background at",
                "the volume's sync rate limits (raidctl rebuild --speed-limit), behind any rebuild or resync.",
                "With --wait: shows progress until it ends; exit status 0 when it finished with nothing left",
                "wrong (--check: nothing found), 1 otherwise."
            })
    static final class Start extends Sub {
        static final class Mode {
            @Option(names = "--repair", description = "Rewrite what is proven bad (the default).")
            boolean repair;

            @Option(names = "--check", description = "Only report.")
            boolean check;
        }

        @ArgGroup(exclusive = true)
        Mode mode;

        @Option(names = "--wait", description = "Wait for the scrub to end, showing progress.")
        boolean await;

        @Option(
                names = "--interval",
                paramLabel = "MS",
                defaultValue = "1000",
                description = "With --wait: progress interval in milliseconds (${DEFAULT-VALUE}).")
        long intervalMillis;

        @Override
        public Integer call() throws IOException, ControlException, InterruptedException {
            boolean repair = mode == null || !mode.check;
            JsonNode reply = call("start", repair);
            out().println(reply.path("message").asText());
            if (!await) {
                return 0;
            }
            return waitFor(this, Math.max(100, intervalMillis));
        }
    }

    @Command(name = "pause", mixinStandardHelpOptions = true, description = "Pauses the running scrub at its cursor.")
    static final class Pause extends Sub {
        @Override
        public Integer call() throws IOException, ControlException {
            out().println(call("pause", true).path("message").asText());
            return 0;
        }
    }

    @Command(
            name = "resume",
            mixinStandardHelpOptions = true,
            description = "Continues a paused scrub from its cursor.")
    static final class Resume extends Sub {
        @Override
        public Integer call() throws IOException, ControlException {
            out().println(call("resume", true).path("message").asText());
            return 0;
        }
    }

    @Command(
            name = "status",
            mixinStandardHelpOptions = true,
            description = "The running or paused scrub, or else the last one, with every finding.")
    static final class Status extends Sub {
        @Option(names = "--json", description = "Print the status as JSON.")
        boolean json;

        @Override
        public Integer call() throws IOException, ControlException {
            JsonNode s = call("status", true).path("scrub");
            if (json) {
                out().println(ControlProtocol.pretty(s));
            } else {
                print(out(), s);
            }
            return 0;
        }
    }

    /** Polls the status until the scrub is no longer running; prints progress, then the result. */
    static int waitFor(Sub sub, long intervalMillis) throws IOException, ControlException, InterruptedException {
        PrintWriter out = sub.out();
        boolean terminal = sub.terminal();
        long lastPlain = 0;
        int lastDecile = -1;
        int width = 0;
        JsonNode s;
        while (true) {
            s = sub.call("status", true).path("scrub");
            String state = s.path("state").asText();
            if (!state.equals("running") && !state.equals("queued")) {
                break;
            }
            String line = progressLine(s, terminal);
            if (terminal) {
                StringBuilder b = new StringBuilder("\r").append(line);
                for (int i = line.length(); i < width; i++) {
                    b.append(' ');
                }
                width = line.length();
                out.print(b);
                out.flush();
            } else {
                long now = System.nanoTime();
                int decile = decile(s);
                if (lastDecile < 0 || decile != lastDecile || now - lastPlain >= ProgressPrinter.PLAIN_INTERVAL_NS) {
                    out.println(line);
                    out.flush();
                    lastPlain = now;
                    lastDecile = decile;
                }
            }
            TimeUnit.MILLISECONDS.sleep(intervalMillis);
        }
        if (terminal && width > 0) {
            out.println();
        }
        print(out, s);
        boolean ok = s.path("state").asText().equals("finished")
                && s.path("unresolved").asLong() == 0
                && (s.path("mode").asText().equals("repair") || s.path("found").asLong() == 0);
        if (!ok) {
            sub.err()
                    .println("raidctl: scrub of " + sub.volume + " "
                            + s.path("state").asText() + " with "
                            + s.path("found").asLong() + " found, "
                            + s.path("unresolved").asLong() + " unresolved");
        }
        return ok ? 0 : 1;
    }

    private static int decile(JsonNode s) {
        long total = s.path("totalBytes").asLong();
        return total <= 0 ? 0 : (int) Math.min(10, 10.0 * s.path("doneBytes").asLong() / total);
    }

    static String progressLine(JsonNode s, boolean terminal) {
        long done = s.path("doneBytes").asLong();
        long total = s.path("totalBytes").asLong();
        String counts =
                s.path("found").asLong() + " found, " + s.path("repaired").asLong() + " repaired";
        if (!terminal) {
            return String.format(
                    Locale.ROOT,
                    "%s: scrub %s %s %s, %s, ETA %s, %s",
                    s.path("volume").asText(),
                    s.path("mode").asText(),
                    s.path("state").asText(),
                    StatusFormat.percent(done, total),
                    StatusFormat.rate(s.path("bytesPerSecond").asLong()),
                    StatusFormat.eta(s.path("etaSeconds").asLong()),
                    counts);
        }
        int barWidth = 30;
        int filled = total <= 0 ? 0 : (int) Math.min(barWidth, (long) ((double) barWidth * done / total));
        StringBuilder bar = new StringBuilder("[");
        for (int i = 0; i < barWidth; i++) {
            bar.append(i < filled ? '#' : '-');
        }
        bar.append(']');
        return String.format(
                Locale.ROOT,
                "%s %6s  %12s  ETA %s  scrub-%s %s  %s",
                bar,
                StatusFormat.percent(done, total),
                StatusFormat.rate(s.path("bytesPerSecond").asLong()),
                StatusFormat.eta(s.path("etaSeconds").asLong()),
                s.path("mode").asText(),
                s.path("volume").asText(),
                counts);
    }

    /** The human-readable status: a summary line, per-member counts, every finding, the history. */
    static void print(PrintWriter out, JsonNode s) {
        String state = s.path("state").asText();
        if (state.equals("never")) {
            out.println(s.path("volume").asText() + ": never scrubbed"
                    + (s.has("nextScheduled")
                            ? "; next scheduled " + s.path("nextScheduled").asText()
                            : ""));
            return;
        }
        out.println(String.format(
                Locale.ROOT,
                "%s: scrub (%s) %s, %s of %s, %s; started %s%s",
                s.path("volume").asText(),
                s.path("mode").asText(),
                state,
                StatusFormat.percent(
                        s.path("doneBytes").asLong(), s.path("totalBytes").asLong()),
                s.path("totalBytes").asLong() + " bytes",
                StatusFormat.rate(s.path("bytesPerSecond").asLong()),
                s.path("started").asText(),
                s.path("ended").isNull() || s.path("ended").isMissingNode()
                        ? ""
                        : ", ended " + s.path("ended").asText()));
        out.println("  found " + s.path("found").asLong() + ", repaired "
                + s.path("repaired").asLong() + ", unresolved "
                + s.path("unresolved").asLong());
        for (JsonNode m : s.path("members")) {
            out.println("  " + m.path("member").asText() + ": found "
                    + m.path("found").asLong() + ", repaired "
                    + m.path("repaired").asLong() + ", unresolved "
                    + m.path("unresolved").asLong());
        }
        for (JsonNode f : s.path("findings")) {
            out.println("  " + f.path("member").asText() + " " + f.path("kind").asText() + " at member offset "
                    + f.path("memberOffset").asLong()
                    + (f.path("volumeOffset").isNull()
                            ? ""
                            : " (volume offset " + f.path("volumeOffset").asLong() + ")")
                    + ": " + f.path("cause").asText()
                    + (f.path("unresolved").asBoolean()
                            ? ", UNRESOLVED"
                            : f.path("repaired").asBoolean() ? ", repaired" : "")
                    + (f.has("detail") ? " (" + f.path("detail").asText() + ")" : ""));
        }
        if (s.path("history").size() > 0) {
            out.println("  earlier scrubs:");
            for (JsonNode h : s.path("history")) {
                out.println("    " + h.path("started").asText() + " "
                        + h.path("mode").asText() + " "
                        + h.path("state").asText() + ": " + h.path("doneBytes").asLong() + " bytes, found "
                        + h.path("found").asLong() + ", repaired "
                        + h.path("repaired").asLong() + ", unresolved "
                        + h.path("unresolved").asLong());
            }
        }
        if (s.has("nextScheduled")) {
            out.println("  next scheduled: " + s.path("nextScheduled").asText());
        }
    }
}
