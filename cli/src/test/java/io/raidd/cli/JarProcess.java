package io.raidd.cli;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * raidd or raidctl from the shaded jar ({@code cli/target/raidd.jar}, built in the package phase)
 * as a real process, with the JVM running the tests. Both output streams are collected line by
 * line; tests wait for a line with a deadline instead of sleeping.
 */
final class JarProcess implements AutoCloseable {
    static final String RAIDD = "io.raidd.cli.RaiddMain";
    static final String RAIDCTL = "io.raidd.cli.RaidctlMain";

    private final Process process;
    private final String command;
    private final List<String> stdout = new ArrayList<>();
    private final List<String> stderr = new ArrayList<>();
    private final Thread[] readers = new Thread[2];

    private JarProcess(Process process, String command) {
        this.process = process;
        this.command = command;
        readers[0] = reader(process.getInputStream(), stdout, "stdout");
        readers[1] = reader(process.getErrorStream(), stderr, "stderr");
    }

    static Path jar() {
        Path jar = Path.of(System.getProperty("raidd.jar", "target/raidd.jar"));
        assertTrue(
                Files.isRegularFile(jar),
                jar.toAbsolutePath() + " is missing: it is built in the package phase (./mvnw -pl cli -am verify)");
        return jar;
    }

    static JarProcess start(String mainClass, List<String> args) throws IOException {
        return start(mainClass, List.of("-Xmx512m"), args);
    }

    /** With {@code jvmOptions} (heap size and the like) instead of the default {@code -Xmx512m}. */
    static JarProcess start(String mainClass, List<String> jvmOptions, List<String> args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules=jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED"));
        if (Runtime.version().feature() >= 23) {
            // As the launchers do: otherwise jffi's sun.misc.Unsafe use adds four warning lines.
            cmd.add("--sun-misc-unsafe-memory-access=allow");
        }
        cmd.addAll(jvmOptions);
        cmd.addAll(List.of("-cp", jar().toString(), mainClass));
        cmd.addAll(args);
        Process p = new ProcessBuilder(cmd)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .start();
        return new JarProcess(p, String.join(" ", cmd));
    }

    /** Runs to completion (raidctl, or a raidd that is expected to refuse to start). */
    static JarProcess run(String mainClass, Duration timeout, List<String> args) throws Exception {
        JarProcess p = start(mainClass, args);
        p.awaitExit(timeout);
        return p;
    }

    private Thread reader(InputStream in, List<String> lines, String name) {
        Thread t = new Thread(
                () -> {
                    try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                        for (String line = r.readLine(); line != null; line = r.readLine()) {
                            synchronized (this) {
                                lines.add(line);
                                notifyAll();
                            }
                        }
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                },
                "jar-process-" + name);
        t.setDaemon(true);
        t.start();
        return t;
    }

    long pid() {
        return process.pid();
    }

    /** The first match of {@code regex} in a stdout line, waiting up to {@code timeout}. */
    Matcher awaitStdout(String regex, Duration timeout) throws InterruptedException {
        return await(stdout, regex, timeout, "stdout");
    }

    Matcher awaitStderr(String regex, Duration timeout) throws InterruptedException {
        return await(stderr, regex, timeout, "stderr");
    }

    private synchronized Matcher await(List<String> lines, String regex, Duration timeout, String name)
            throws InterruptedException {
        Pattern pattern = Pattern.compile(regex);
        long deadlineNs = System.nanoTime() + timeout.toNanos();
        int checked = 0;
        while (true) {
            for (; checked < lines.size(); checked++) {
                Matcher m = pattern.matcher(lines.get(checked));
                if (m.find()) {
                    return m;
                }
            }
            long leftNs = deadlineNs - System.nanoTime();
            if (leftNs <= 0 || (!process.isAlive() && !readers[0].isAlive() && !readers[1].isAlive())) {
                return fail("no " + name + " line matching /" + regex + "/ within " + timeout
                        + (process.isAlive() ? "" : " (exited " + process.exitValue() + ")") + "\n" + describe());
            }
            TimeUnit.NANOSECONDS.timedWait(this, Math.min(leftNs, 100_000_000L));
        }
    }

    /** Waits for the exit and for both streams to be read to the end; returns the exit code. */
    int awaitExit(Duration timeout) throws InterruptedException {
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            fail("did not exit within " + timeout + "\n" + describe());
        }
        for (Thread t : readers) {
            t.join(10_000);
        }
        return process.exitValue();
    }

    /**
     * SIGTERM, then the exit code. Through the ProcessHandle: {@code Process.destroy()} also closes
     * our ends of the pipes, and the daemon's goodbye lines would be lost.
     */
    int terminate(Duration timeout) throws InterruptedException {
        process.toHandle().destroy();
        return awaitExit(timeout);
    }

    /** SIGKILL: no shutdown hook, no clean superblocks. */
    /** SIGTERM, without waiting. */
    void sigterm() {
        process.toHandle().destroy();
    }

    void kill() throws InterruptedException {
        process.toHandle().destroyForcibly();
        awaitExit(Duration.ofSeconds(30));
    }

    int exitCode() {
        return process.exitValue();
    }

    synchronized List<String> stdout() {
        return List.copyOf(stdout);
    }

    synchronized List<String> stderr() {
        return List.copyOf(stderr);
    }

    /**
     * The stderr lines meant for a person: not the JVM's incubator warning, not timestamped log
     * lines (and their indented continuation lines).
     */
    synchronized List<String> messages() {
        List<String> out = new ArrayList<>();
        for (String line : stderr) {
            if (line.startsWith("WARNING: Using incubator modules")
                    || line.matches("^\\d{4}-\\d\\d-\\d\\dT.*")
                    || line.startsWith("  ")) {
                continue;
            }
            out.add(line);
        }
        return out;
    }

    synchronized String describe() {
        return command + "\nstdout:\n" + String.join("\n", stdout) + "\nstderr:\n" + String.join("\n", stderr);
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            process.destroyForcibly();
            process.waitFor(30, TimeUnit.SECONDS);
        }
    }
}
