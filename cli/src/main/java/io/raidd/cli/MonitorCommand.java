package io.raidd.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.raidd.cli.control.ControlClient;
import io.raidd.cli.control.ControlException;
import io.raidd.cli.control.ControlProtocol;
import io.raidd.cli.control.ControlRequest;
import io.raidd.cli.daemon.EventProgram;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code raidctl monitor}: raidd's events as they happen (mdadm --monitor). */
@Command(
        name = "monitor",
        mixinStandardHelpOptions = true,
        description = {
            "Prints raidd's events as they happen, until stopped.",
            "One line each: TIME EVENT VOLUME MEMBER: detail. With --program, also runs PROG EVENT VOLUME [MEMBER]",
            "for each (one at a time, at most 30 s each), as mdadm --monitor --program does."
        })
final class MonitorCommand extends OnlineCommand {
    static final Duration PROGRAM_TIMEOUT = Duration.ofSeconds(30);

    @Option(names = "--program", paramLabel = "PROG", description = "Run PROG EVENT VOLUME [MEMBER] for each event.")
    String program;

    @Option(names = "--count", paramLabel = "N", description = "Exit (status 0) after N events.")
    Long count;

    @Override
    public Integer call() throws IOException, ControlException {
        if (count != null && count < 1) {
            throw new IllegalArgumentException("--count must be at least 1");
        }
        long[] seen = {0};
        JsonNode[] end = {null};
        try (ControlClient c = connect();
                EventProgram runner = program == null
                        ? null
                        : new EventProgram(
                                program,
                                PROGRAM_TIMEOUT,
                                256,
                                EventProgram.Output.INHERIT,
                                "raidctl-event-program",
                                line -> err().println(line),
                                line -> err().println("raidctl: " + line))) {
            c.stream(ControlProtocol.encode(new ControlRequest.Monitor()), line -> {
                if (line.has("event")) {
                    JsonNode e = line.get("event");
                    String member = e.path("member").asText("");
                    out().println(e.path("time").asText() + " " + e.path("type").asText() + " "
                            + e.path("array").asText() + " " + (member.isEmpty() ? "-" : member)
                            + (e.path("detail").asText("").isEmpty()
                                    ? ""
                                    : ": " + e.path("detail").asText()));
                    out().flush();
                    if (runner != null) {
                        runner.offer(
                                e.path("type").asText(),
                                e.path("array").asText(),
                                member,
                                e.path("detail").asText(""),
                                epochMillis(e.path("time").asText()));
                    }
                    seen[0]++;
                    return count == null || seen[0] < count;
                }
                if (line.has("dropped")) {
                    err().println("raidctl: raidd dropped "
                            + line.path("dropped").asLong()
                            + " event(s) for this monitor: it did not read them fast enough");
                    return true;
                }
                if (line.has("ok")) {
                    end[0] = line;
                    return false;
                }
                // {"subscribed":true}, and line kinds a newer raidd may add.
                return true;
            });
            if (runner != null) {
                runner.finish();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (count != null && seen[0] >= count) {
            return 0;
        }
        if (end[0] != null) {
            ControlClient.result(end[0]);
        }
        throw new ControlException("raidd closed the connection");
    }

    private static long epochMillis(String time) {
        try {
            return Instant.parse(time).toEpochMilli();
        } catch (RuntimeException e) {
            return System.currentTimeMillis();
        }
    }
}
