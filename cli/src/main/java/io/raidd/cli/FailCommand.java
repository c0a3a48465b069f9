package io.raidd.cli;

import io.raidd.cli.control.ControlException;
import io.raidd.cli.control.ControlRequest;
import java.io.IOException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code raidctl fail}: marks a member faulty, as an I/O error would (mdadm --fail). */
@Command(
        name = "fail",
        mixinStandardHelpOptions = true,
        description = "Marks a member faulty as an I/O error would; refused when the volume would lose data.")
final class FailCommand extends OnlineCommand {

    @Parameters(index = "0", paramLabel = "VOLUME")
    String volume;

    @Parameters(index = "1", paramLabel = "MEMBER", description = "The member's path as status shows it, or its slot.")
    String member;

    @Override
    public Integer call() throws IOException, ControlException {
        return callAndPrint(new ControlRequest.Fail(volume, member));
    }
}
