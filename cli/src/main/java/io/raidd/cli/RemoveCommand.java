package io.raidd.cli;

import io.raidd.cli.control.ControlException;
import io.raidd.cli.control.ControlRequest;
import java.io.IOException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code raidctl remove}: takes a spare, faulty or missing member out (mdadm --remove). */
@Command(
        name = "remove",
        mixinStandardHelpOptions = true,
        description = "Takes a spare, faulty or missing member out of the volume; refused for one that holds data.")
final class RemoveCommand extends OnlineCommand {

    @Parameters(index = "0", paramLabel = "VOLUME")
    String volume;

    @Parameters(index = "1", paramLabel = "MEMBER", description = "The member's path as status shows it, or its slot.")
    String member;

    @Override
    public Integer call() throws IOException, ControlException {
        return callAndPrint(new ControlRequest.Remove(volume, member));
    }
}
