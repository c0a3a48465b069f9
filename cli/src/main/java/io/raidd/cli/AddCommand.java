package io.raidd.cli;

import io.raidd.cli.control.ControlException;
import io.raidd.cli.control.ControlProtocol;
import io.raidd.cli.control.ControlRequest;
import java.io.IOException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code raidctl add}: a new member, a spare or rebuilt at once when the volume is degraded (mdadm --add). */
@Command(
        name = "add",
        mixinStandardHelpOptions = true,
        description = {
            "Adds a member: a spare, or rebuilt at once when the volume is degraded.",
            "PATH is an image file (created sparse at the members' size when it does not exist) or a block device."
        })
final class AddCommand extends OnlineCommand {

    @Parameters(index = "0", paramLabel = "VOLUME")
    String volume;

    @Parameters(
            index = "1",
            paramLabel = "PATH",
            description = "Image file or block device (sent as an absolute path).")
    String path;

    @Option(
            names = "--wait",
            description = "Then wait for the rebuild, showing progress; exit 0 only if the volume ends healthy.")
    boolean await;

    @Override
    public Integer call() throws IOException, ControlException {
        callAndPrint(new ControlRequest.Add(volume, forDaemon(path)));
        return await ? awaitVolume(volume, ControlProtocol.DEFAULT_WAIT_INTERVAL_MILLIS) : 0;
    }
}
