package io.raidd.cli;

import io.raidd.cli.control.ControlException;
import io.raidd.cli.control.ControlRequest;
import io.raidd.cli.control.ControlService.FaultSpec;
import java.io.IOException;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code raidctl inject}: a fault on a live member, for failure drills (raidd --allow-fault-injection). */
@Command(
        name = "inject",
        mixinStandardHelpOptions = true,
        description = {
            "Injects a fault into a live member (drills; needs raidd --allow-fault-injection).",
            "RANGE: OFFSET+LENGTH or OFFSET:LENGTH in the member's data area (1M+64K); none: the whole member."
        })
final class InjectCommand extends OnlineCommand {

    @Parameters(index = "0", paramLabel = "VOLUME")
    String volume;

    @Parameters(index = "1", paramLabel = "MEMBER", description = "The member's path as status shows it, or its slot.")
    String member;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Fault fault;

    static final class Fault {
        @Option(names = "--fail", description = "Every I/O fails from now on.")
        boolean fail;

        @Option(
                names = "--eio-read",
                arity = "0..1",
                fallbackValue = WHOLE,
                paramLabel = "RANGE",
                description = "Reads of RANGE fail with EIO.")
        String eioRead;

        @Option(
                names = "--eio-write",
                arity = "0..1",
                fallbackValue = WHOLE,
                paramLabel = "RANGE",
                description = "Writes to RANGE fail with EIO.")
        String eioWrite;

        @Option(names = "--hang", description = "I/O never completes (the member timeout then fails it).")
        boolean hang;

        @Option(names = "--slow", paramLabel = "MS", description = "Every I/O takes MS milliseconds longer.")
        Long slowMillis;

        @Option(
                names = "--flip-bits",
                paramLabel = "COUNT",
                description = "Silently flip COUNT bits, each in a random 4 KiB block of the data area.")
        Integer flipBits;

        @Option(names = "--clear", description = "Remove the faults injected into this member.")
        boolean clear;
    }

    static final String WHOLE = "whole";

    @Override
    public Integer call() throws IOException, ControlException {
        return callAndPrint(new ControlRequest.Inject(volume, member, spec(fault)));
    }

    static FaultSpec spec(Fault f) {
        if (f.eioRead != null || f.eioWrite != null) {
            String kind = f.eioRead != null ? "eio-read" : "eio-write";
            long[] range = parseRange(f.eioRead != null ? f.eioRead : f.eioWrite);
            return new FaultSpec(kind, range[0], range[1], 0, 0);
        }
        if (f.slowMillis != null) {
            if (f.slowMillis < 1) {
                throw new IllegalArgumentException("--slow needs a positive number of milliseconds");
            }
            return new FaultSpec("slow", 0, 0, f.slowMillis, 0);
        }
        if (f.flipBits != null) {
            if (f.flipBits < 1) {
                throw new IllegalArgumentException("--flip-bits needs a positive count");
            }
            return new FaultSpec("flip-bits", 0, 0, 0, f.flipBits);
        }
        String kind = f.fail ? "fail" : f.hang ? "hang" : "clear";
        return new FaultSpec(kind, 0, 0, 0, 0);
    }

    /** {@code OFFSET+LENGTH} or {@code OFFSET:LENGTH} (sizes with suffixes); "whole" or empty: {0, 0}. */
    static long[] parseRange(String text) {
        String t = text.trim();
        if (t.isEmpty() || t.equals(WHOLE)) {
            return new long[] {0, 0};
        }
        int sep = Math.max(t.indexOf('+'), t.indexOf(':'));
        if (sep <= 0 || sep == t.length() - 1) {
            throw new IllegalArgumentException(
                    "bad range '" + text + "' (expected OFFSET+LENGTH or OFFSET:LENGTH," + " like 1M+64K)");
        }
        long offset = Sizes.parse(t.substring(0, sep));
        long length = Sizes.parse(t.substring(sep + 1));
        if (length == 0) {
            throw new IllegalArgumentException("range '" + text + "' is empty");
        }
        if (offset > Long.MAX_VALUE - length) {
            throw new IllegalArgumentException("range '" + text + "' is too large");
        }
        return new long[] {offset, length};
    }
}
