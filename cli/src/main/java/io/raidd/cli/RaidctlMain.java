package io.raidd.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;

/**
 * {@code raidctl}: create and inspect arrays offline; query and change a running raidd through its
 * control socket. Errors are one line on stderr ("raidctl: ..."); exit status 0 on success, 1 when
 * raidd refused or something failed, 2 for a usage error.
 */
@Command(
        name = "raidctl",
        mixinStandardHelpOptions = true,
        versionProvider = Version.class,
        description = "Creates and inspects md-compatible RAID arrays, and manages a running raidd.",
        subcommands = {
            CreateCommand.class,
            ExamineCommand.class,
            StatusCommand.class,
            FailCommand.class,
            RemoveCommand.class,
            AddCommand.class,
            ReplaceCommand.class,
            RebuildCommand.class,
            WaitCommand.class,
            MonitorCommand.class,
            InjectCommand.class,
            ScrubCommand.class
        })
public final class RaidctlMain implements Runnable {

    @Option(
            names = "--control",
            paramLabel = "PATH",
            scope = ScopeType.INHERIT,
            description = "raidd's control socket (default: $RAIDD_CONTROL, else /run/raidd/raidd.sock as root,"
                    + " else $XDG_RUNTIME_DIR/raidd.sock, else ./raidd.sock).")
    Path control;

    /** Whether standard output is a terminal (progress is then redrawn in place). */
    final boolean terminal;

    RaidctlMain(boolean terminal) {
        this.terminal = terminal;
    }

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getErr());
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs a command line and returns the exit status (tests call this directly). */
    public static int run(String... args) {
        PrintWriter out = new PrintWriter(System.out, true);
        PrintWriter err = new PrintWriter(System.err, true);
        return run(System.console() != null, out, err, args);
    }

    /** {@link #run(String...)} with its output captured (never a terminal). */
    public static int run(PrintWriter out, PrintWriter err, String... args) {
        return run(false, out, err, args);
    }

    private static int run(boolean terminal, PrintWriter out, PrintWriter err, String... args) {
        CommandLine cl = new CommandLine(new RaidctlMain(terminal));
        cl.setOut(out);
        cl.setErr(err);
        cl.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            String message = e.getMessage() == null ? e.toString() : e.getMessage();
            commandLine.getErr().println("raidctl: " + message);
            commandLine.getErr().flush();
            return e instanceof IllegalArgumentException ? 2 : 1;
        });
        try {
            return cl.execute(args);
        } finally {
            out.flush();
            err.flush();
        }
    }
}
