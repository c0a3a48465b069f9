package io.raidd.cli.daemon;

import io.raidd.raid.event.ArrayEvent;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * Runs a program for each event, like {@code mdadm --monitor --program}: {@code PROG EVENT VOLUME
 * [MEMBER]} (the member only when the event has one, as mdadm does), with {@code RAIDD_EVENT},
 * {@code RAIDD_VOLUME}, {@code RAIDD_MEMBER}, {@code RAIDD_DETAIL} and {@code RAIDD_TIME} in its
 * environment and no standard input. One run at a time on one background thread, each bounded by
 * a timeout (then it and its children are killed); events arrive through a bounded queue and
 * {@link #offer} never blocks (what does not fit is dropped and counted). Failures are reported,
 * never thrown.
 */
public final class EventProgram implements AutoCloseable {

    /** Where the program's output goes. */
    public enum Output {
        /** The caller's own standard output and error (raidctl monitor). */
        INHERIT,
        /** Each line to the reporter, prefixed with the program (the daemon's log). */
        REPORT
    }

    /** Lines of a run's output passed on at most; a chatty program does not flood the log. */
    private static final int MAX_OUTPUT_LINES = 50;

    private static final int MAX_OUTPUT_LINE_CHARS = 500;

    /** One run's arguments: the event by name, so a client can run it for events it has no type for. */
    private record Run(String event, String volume, String member, String detail, long epochMillis) {
        @Override
        public String toString() {
            return event + " " + volume + (member.isEmpty() ? "" : " " + member);
        }
    }

    private static final Run STOP = new Run("", "", "", "", 0);

    private final String program;
    private final Duration timeout;
    private final Output output;
    private final Consumer<String> info;
    private final Consumer<String> warning;
    private final BlockingQueue<Run> queue;
    private final AtomicLong dropped = new AtomicLong();
    private final AtomicLong runs = new AtomicLong();
    private final AtomicLong failures = new AtomicLong();
    private final Thread runner;
    private volatile boolean closed;

    /**
     * @param program the executable (a path, or a name looked up in PATH); no shell is involved
     * @param info output lines and other news (Output.REPORT)
     * @param warning failures: could not start, non-zero exit, timeout, dropped events
     */
    public EventProgram(
            String program,
            Duration timeout,
            int queueCapacity,
            Output output,
            String threadName,
            Consumer<String> info,
            Consumer<String> warning) {
        this.program = Objects.requireNonNull(program);
        this.timeout = Objects.requireNonNull(timeout);
        this.output = Objects.requireNonNull(output);
        this.info = info;
        this.warning = warning;
        this.queue = new ArrayBlockingQueue<>(queueCapacity);
        this.runner = new Thread(this::runLoop, threadName);
        runner.setDaemon(true);
        runner.start();
    }

    public String program() {
        return program;
    }

    /** Queues a run for the event; false (and counted) when the queue is full or closed. Never blocks. */
    public boolean offer(ArrayEvent event) {
        return offer(event.type().name(), event.array(), event.member(), event.detail(), event.epochMillis());
    }

    /** {@link #offer(ArrayEvent)} for an event known by name only. */
    public boolean offer(String event, String volume, String member, String detail, long epochMillis) {
        Run run = new Run(event, volume, member == null ? "" : member, detail == null ? "" : detail, epochMillis);
        if (closed || !queue.offer(run)) {
            long n = dropped.incrementAndGet();
            // Power-of-two counts: the first drop is reported, a storm is not repeated line by line.
            if (Long.bitCount(n) == 1) {
                warning.accept("event program " + program + " is behind; not run for " + run + " (" + n
                        + " event(s) skipped so far)");
            }
            return false;
        }
        return true;
    }

    public long dropped() {
        return dropped.get();
    }

    /** Runs finished (whatever their outcome). */
    public long runs() {
        return runs.get();
    }

    /** Runs that failed to start, exited non-zero or timed out. */
    public long failures() {
        return failures.get();
    }

    private void runLoop() {
        while (true) {
            Run e;
            try {
                e = queue.take();
            } catch (InterruptedException interrupted) {
                return;
            }
            if (e == STOP) {
                return;
            }
            try {
                runOnce(e);
            } catch (RuntimeException | Error t) {
                warning.accept("event program " + program + " for " + e + ": " + t);
                failures.incrementAndGet();
            } finally {
                runs.incrementAndGet();
            }
        }
    }

    private void runOnce(Run e) {
        List<String> command = new ArrayList<>(List.of(program, e.event(), e.volume()));
        if (!e.member().isEmpty()) {
            command.add(e.member());
        }
        ProcessBuilder pb = new ProcessBuilder(command);
        Map<String, String> env = pb.environment();
        env.put("RAIDD_EVENT", e.event());
        env.put("RAIDD_VOLUME", e.volume());
        env.put("RAIDD_MEMBER", e.member());
        env.put("RAIDD_DETAIL", e.detail());
        env.put("RAIDD_TIME", java.time.Instant.ofEpochMilli(e.epochMillis()).toString());
        if (output == Output.INHERIT) {
            pb.redirectOutput(ProcessBuilder.Redirect.INHERIT).redirectError(ProcessBuilder.Redirect.INHERIT);
        } else {
            pb.redirectErrorStream(true);
        }
        Process p;
        try {
            p = pb.start();
        } catch (IOException ex) {
            warning.accept("event program " + program + " could not be started for " + e + ": " + ex.getMessage());
            failures.incrementAndGet();
            return;
        }
        try {
            p.getOutputStream().close();
        } catch (IOException ignored) {
            // It does not read its input; nothing lost.
        }
        Thread pump = output == Output.REPORT ? pumpOutput(p) : null;
        boolean finished;
        try {
            finished = p.waitFor(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException ex) {
            kill(p);
            Thread.currentThread().interrupt();
            return;
        }
        if (!finished) {
            kill(p);
            warning.accept("event program " + program + " for " + e + " ran longer than "
                    + (timeout.toMillis() % 1000 == 0 ? timeout.toSeconds() + " s" : timeout.toMillis() + " ms")
                    + "; killed");
            failures.incrementAndGet();
        } else if (p.exitValue() != 0) {
            warning.accept("event program " + program + " for " + e + " exited with status " + p.exitValue());
            failures.incrementAndGet();
        }
        if (pump != null) {
            try {
                // Children that kept the output open may delay its end; never for long.
                pump.join(1000);
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private Thread pumpOutput(Process p) {
        Thread t = new Thread(
                () -> {
                    try (BufferedReader r =
                            new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                        int lines = 0;
                        for (String line; (line = r.readLine()) != null; ) {
                            if (lines++ < MAX_OUTPUT_LINES) {
                                String l = line.length() > MAX_OUTPUT_LINE_CHARS
                                        ? line.substring(0, MAX_OUTPUT_LINE_CHARS) + "..."
                                        : line;
                                info.accept("event program " + program + ": " + l);
                            }
                        }
                    } catch (IOException ignored) {
                        // The process is gone; so is the rest of its output.
                    }
                },
                runner.getName() + "-output");
        t.setDaemon(true);
        t.start();
        return t;
    }

    private static void kill(Process p) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
    }

    /**
     * Stops taking events and runs the ones already queued (each bounded by the timeout), then
     * stops: for a client that ends on its own (raidctl monitor --count), where every event it
     * printed should also have had its run.
     */
    public void finish() throws InterruptedException {
        if (closed) {
            return;
        }
        closed = true;
        queue.put(STOP);
        runner.join();
    }

    /**
     * Stops taking events, lets the run in progress finish (bounded by the timeout) and drops the
     * queued ones.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        int pending = queue.size();
        queue.clear();
        if (pending > 0) {
            dropped.addAndGet(pending);
            warning.accept("event program " + program + " not run for " + pending + " queued event(s): stopping");
        }
        queue.offer(STOP);
        try {
            runner.join(timeout.toMillis() + 2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (runner.isAlive()) {
            runner.interrupt();
        }
    }
}
