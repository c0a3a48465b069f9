package io.raidd.cli;

import io.raidd.cli.control.ControlException;
import io.raidd.cli.control.ControlRequest;
import io.raidd.cli.daemon.DaemonConfig;
import java.io.IOException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code raidctl rebuild}: rate limits of a volume's rebuilds and resyncs (md's sync_speed_max/min). */
@Command(
        name = "rebuild",
        mixinStandardHelpOptions = true,
        description = {
            "Sets how fast the volume's rebuilds and resyncs may go, running or not.",
            "RATE is bytes per second with K, M, G suffixes (50M = 50 MiB/s), or 'unlimited'."
        })
final class RebuildCommand extends OnlineCommand {

    @Parameters(index = "0", paramLabel = "VOLUME")
    String volume;

    @Option(
            names = "--speed-limit",
            paramLabel = "RATE",
            description = "Rate when the volume has no other I/O (the maximum).")
    String max;

    @Option(names = "--min", paramLabel = "RATE", description = "Rate kept even under foreground I/O (the minimum).")
    String min;

    @Override
    public Integer call() throws IOException, ControlException {
        if (max == null && min == null) {
            throw new IllegalArgumentException("give --speed-limit RATE, --min RATE or both");
        }
        Long maxRate = max == null ? null : DaemonConfig.parseRate(max);
        Long minRate = min == null ? null : DaemonConfig.parseRate(min);
        if (maxRate != null && minRate != null && minRate > maxRate) {
            throw new IllegalArgumentException("--min " + min + " is above --speed-limit " + max);
        }
        return callAndPrint(new ControlRequest.RebuildLimits(volume, minRate, maxRate));
    }
}
