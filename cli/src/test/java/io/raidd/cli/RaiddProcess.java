package io.raidd.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * raidd as an operator runs it: a process with its own control socket, reached by raidctl
 * processes. For integration tests of the online commands.
 */
final class RaiddProcess implements AutoCloseable {
    static final Duration START = Duration.ofSeconds(60);
    static final Duration COMMAND = Duration.ofMinutes(2);
    private static final String URI_LINE = "^(nbd://127\\.0\\.0\\.1:(\\d+)/(\\S+))$";

    final JarProcess process;
    final Path control;
    final String uri;

    private RaiddProcess(JarProcess process, Path control, String uri) {
        this.process = process;
        this.control = control;
        this.uri = uri;
    }

    /** Starts raidd on {@code members} with {@code flags}; its control socket sits beside the first member. */
    static RaiddProcess start(List<Path> members, String... flags) throws Exception {
        Path control = members.get(0).resolveSibling("raidd.sock");
        List<String> args = new ArrayList<>(List.of("--listen", "127.0.0.1:0", "--control", control.toString()));
        args.addAll(List.of(flags));
        members.forEach(p -> args.add(p.toString()));
        JarProcess p = JarProcess.start(JarProcess.RAIDD, args);
        try {
            String uri = p.awaitStdout(URI_LINE, START).group(1);
            return new RaiddProcess(p, control, uri);
        } catch (Throwable t) {
            p.close();
            throw t;
        }
    }

    /** Runs {@code raidctl --control SOCK args...} to completion. */
    JarProcess raidctl(String... args) throws Exception {
        List<String> all = new ArrayList<>(List.of("--control", control.toString()));
        all.addAll(List.of(args));
        return JarProcess.run(JarProcess.RAIDCTL, COMMAND, all);
    }

    /** Runs raidctl and asserts it exits 0; returns its stdout. */
    String ok(String... args) throws Exception {
        JarProcess r = raidctl(args);
        assertEquals(0, r.exitCode(), r.describe());
        return String.join("\n", r.stdout());
    }

    /** {@code raidctl status VOLUME --json}: the volume's object. */
    JsonNode status(String volume) throws Exception {
        JsonNode all = new ObjectMapper().readTree(ok("status", volume, "--json"));
        return all.path("volumes").get(0);
    }

    /** Member states by slot (spares and retired members at the end, as status lists them). */
    static List<String> states(JsonNode volume) {
        List<String> out = new ArrayList<>();
        for (JsonNode m : volume.path("members")) {
            out.add(m.path("slot").asInt() + ":" + m.path("state").asText());
        }
        return out;
    }

    int terminate() throws InterruptedException {
        return process.terminate(COMMAND);
    }

    void kill() throws InterruptedException {
        process.kill();
    }

    @Override
    public void close() throws InterruptedException {
        process.close();
    }
}
