package io.raidd.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.raidd.cli.control.ControlClient;
import io.raidd.cli.control.ControlException;
import io.raidd.cli.control.ControlPath;
import io.raidd.cli.control.ControlProtocol;
import io.raidd.cli.control.ControlRequest;
import io.raidd.cli.control.VolumeStatus;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * A raidctl command that talks to a running raidd through its control socket. A refusal comes
 * back as a {@link ControlException} (raidctl prints it and exits 1).
 */
abstract class OnlineCommand implements Callable<Integer> {
    @ParentCommand
    RaidctlMain parent;

    @Spec
    CommandSpec spec;

    PrintWriter out() {
        return spec.commandLine().getOut();
    }

    PrintWriter err() {
        return spec.commandLine().getErr();
    }

    Path controlPath() {
        return ControlPath.resolve(parent.control);
    }

    ControlClient connect() throws IOException {
        return ControlClient.connect(controlPath());
    }

    /** A one-line request: its successful result line. */
    JsonNode call(ControlRequest request) throws IOException, ControlException {
        try (ControlClient c = connect()) {
            return c.call(request);
        }
    }

    /** A one-line request whose result is a message: prints it. */
    int callAndPrint(ControlRequest request) throws IOException, ControlException {
        out().println(call(request).path("message").asText());
        return 0;
    }

    /**
     * Streams a {@code wait} for the volume, showing progress; 0 when the volume ended healthy, 1
     * (with the reason on stderr) otherwise.
     */
    int awaitVolume(String volume, long intervalMillis) throws IOException, ControlException {
        ProgressPrinter progress = new ProgressPrinter(out(), parent.terminal, System::nanoTime);
        JsonNode[] last = new JsonNode[1];
        try (ControlClient c = connect()) {
            c.stream(ControlProtocol.encode(new ControlRequest.Wait(volume, intervalMillis)), line -> {
                if (line.has("progress")) {
                    progress.progress(ControlProtocol.volume(line.get("progress")));
                    return true;
                }
                last[0] = line;
                return !line.has("ok");
            });
        } finally {
            progress.finish();
        }
        JsonNode result = ControlClient.result(last[0]);
        VolumeStatus end = ControlProtocol.volume(result.path("volume"));
        if (result.path("healthy").asBoolean(false)) {
            out().println(end.name() + ": " + end.state() + ", " + StatusFormat.syncLine(end.sync()));
            return 0;
        }
        out().println(ProgressPrinter.plainLine(end));
        err().println("raidctl: " + end.name() + " is " + end.state() + ", not healthy");
        return 1;
    }

    /** A path the daemon will open: absolute, since its working directory is not ours. */
    static String forDaemon(String path) {
        return Path.of(path).toAbsolutePath().normalize().toString();
    }
}
