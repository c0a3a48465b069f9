package io.raidd.cli;

import io.raidd.cli.control.ControlException;
import io.raidd.cli.control.ControlProtocol;
import io.raidd.cli.control.ControlRequest;
import java.io.IOException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code raidctl replace}: hot replace, the old member serving until the new one is rebuilt (mdadm --replace). */
@Command(
        name = "replace",
        mixinStandardHelpOptions = true,
        description = "Rebuilds NEW while OLD keeps serving, then retires OLD (the volume never loses redundancy).")
final class ReplaceCommand extends OnlineCommand {

    @Parameters(index = "0", paramLabel = "VOLUME")
    String volume;

    @Parameters(
            index = "1",
            paramLabel = "OLD",
            description = "The member to replace: its path as status shows it, or its slot.")
    String oldMember;

    @Parameters(index = "2", paramLabel = "NEW", description = "Image file or block device (sent as an absolute path).")
    String newPath;

    @Option(
            names = "--wait",
            description = "Then wait for the rebuild, showing progress; exit 0 only if the volume ends healthy.")
    boolean await;

    @Override
    public Integer call() throws IOException, ControlException {
        callAndPrint(new ControlRequest.Replace(volume, oldMember, forDaemon(newPath)));
        return await ? awaitVolume(volume, ControlProtocol.DEFAULT_WAIT_INTERVAL_MILLIS) : 0;
    }
}
