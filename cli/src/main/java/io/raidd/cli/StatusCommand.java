package io.raidd.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.raidd.cli.control.ControlException;
import io.raidd.cli.control.ControlProtocol;
import io.raidd.cli.control.ControlRequest;
import io.raidd.cli.control.VolumeStatus;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code raidctl status}: what a running raidd serves, and how each volume and member is doing. */
@Command(
        name = "status",
        mixinStandardHelpOptions = true,
        description = "Shows the state of a running raidd's volumes: level, state, sync progress, members.")
final class StatusCommand extends OnlineCommand {

    @Parameters(arity = "0..1", paramLabel = "VOLUME", description = "Only this volume (default: all).")
    String volume;

    @Option(names = "--json", description = "Print {\"volumes\":[...]} (the fields are in README.md).")
    boolean json;

    @Override
    public Integer call() throws IOException, ControlException {
        JsonNode result = call(new ControlRequest.Status(volume));
        JsonNode volumes = result.path("volumes");
        if (json) {
            ObjectNode o = JsonNodeFactory.instance.objectNode();
            o.set("volumes", volumes.isArray() ? volumes : JsonNodeFactory.instance.arrayNode());
            out().println(ControlProtocol.pretty(o));
            return 0;
        }
        List<VolumeStatus> list = new ArrayList<>();
        for (JsonNode v : volumes) {
            list.add(ControlProtocol.volume(v));
        }
        out().print(StatusFormat.render(list));
        return 0;
    }
}
