package io.raidd.cli;

import io.raidd.cli.control.ControlException;
import io.raidd.cli.control.ControlProtocol;
import java.io.IOException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code raidctl wait}: until the volume's rebuilds and resyncs are over (mdadm --wait). */
@Command(
        name = "wait",
        mixinStandardHelpOptions = true,
        description = {
            "Waits until the volume has no rebuild or resync running or queued, showing progress.",
            "Exit status 0 when it ended healthy (clean), 1 otherwise."
        })
final class WaitCommand extends OnlineCommand {

    @Parameters(index = "0", paramLabel = "VOLUME")
    String volume;

    @Option(
            names = "--interval",
            paramLabel = "MS",
            defaultValue = "1000",
            description = "Progress report interval in milliseconds (${DEFAULT-VALUE}; 100 to 60000).")
    long intervalMillis;

    @Override
    public Integer call() throws IOException, ControlException {
        if (intervalMillis < ControlProtocol.MIN_WAIT_INTERVAL_MILLIS
                || intervalMillis > ControlProtocol.MAX_WAIT_INTERVAL_MILLIS) {
            throw new IllegalArgumentException("--interval must be from " + ControlProtocol.MIN_WAIT_INTERVAL_MILLIS
                    + " to " + ControlProtocol.MAX_WAIT_INTERVAL_MILLIS + " ms");
        }
        return awaitVolume(volume, intervalMillis);
    }
}
