package io.raidd.cli;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The verifying fio load the heal and failure-policy tests run through NBD: random 4 KiB writes
 * from two jobs, each over its own {@code jobBytes}, every block read back and checked (crc32c,
 * fatal on the first mismatch), JSON results in {@code output}.
 */
final class VerifyingFio {
    private VerifyingFio() {}

    static List<String> args(String name, String uri, Path output, int seconds, long jobBytes) {
        return List.of(
                Tools.require("fio", "fio"),
                "--name=" + name,
                "--ioengine=nbd",
                "--uri=" + uri,
                "--rw=randwrite",
                "--bs=4k",
                "--iodepth=8",
                "--numjobs=2",
                "--size=" + jobBytes,
                "--offset_increment=" + jobBytes,
                "--verify=crc32c",
                "--verify_fatal=1",
                "--verify_backlog=64",
                "--verify_state_save=0",
                "--randrepeat=1",
                "--time_based",
                "--runtime=" + seconds,
                "--output-format=json",
                "--output=" + output);
    }

    /** Runs {@code command} in the background, for at most {@code timeout}. */
    static CompletableFuture<Tools.Result> start(List<String> command, Duration timeout) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return Tools.run(timeout, command);
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
    }
}
