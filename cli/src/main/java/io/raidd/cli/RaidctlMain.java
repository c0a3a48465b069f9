package io.raidd.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code raidctl}: create and inspect arrays. Errors are one line on stderr and a non-zero exit. */
@Command(
        name = "raidctl",
        mixinStandardHelpOptions = true,
        versionProvider = Version.class,
        description = "Creates and inspects md-compatible RAID arrays for raidd.",
        subcommands = {CreateCommand.class, ExamineCommand.class})
public final class RaidctlMain implements Runnable {

    @Override
    public void run() {
        new CommandLine(this).usage(System.err);
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs a command line and returns the exit status (tests call this directly). */
    public static int run(String... args) {
        CommandLine cl = new CommandLine(new RaidctlMain());
        cl.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            String message = e.getMessage() == null ? e.toString() : e.getMessage();
            commandLine.getErr().println("raidctl: " + message);
            return e instanceof IllegalArgumentException ? 2 : 1;
        });
        return cl.execute(args);
    }
}
