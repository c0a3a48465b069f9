package io.raidd.raid.parity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Runs {@link ParityKernels} in a fresh JVM, with and without the Vector API module in the boot
 * layer: the selection must never fail and must never load {@link VectorKernel} without it.
 */
class ParityKernelsIT {

    /** How -Xlog:class+load reports that the vector kernel class was loaded. */
    private static final String VECTOR_LOADED = ParityKernels.VECTOR_KERNEL_CLASS + " source:";

    /** Entry point of the forked JVM: prints what it selected, and proves the kernel works. */
    public static void main(String[] args) {
        final ParityKernel best = ParityKernels.best();
        final byte[][] data = {{1, 2, 3}, {4, 5, 6}};
        final byte[] p = new byte[3];
        final byte[] q = new byte[3];
        best.pq(data, 2, p, q, 0, 3); // Q = D0 ^ {02}*D1 = {1^8, 2^10, 3^12}
        System.out.println("best=" + best.name());
        System.out.println(
                "all=" + ParityKernels.all().stream().map(ParityKernel::name).toList());
        System.out.println("reason=" + ParityKernels.selectionReason());
        System.out.println("q=" + q[0] + "," + q[1] + "," + q[2]);
    }

    @Test
    void withoutTheModuleSwarIsChosenAndVectorNeverLoaded() throws Exception {
        final String out = fork(List.of());
        assertTrue(out.contains("best=swar"), out);
        assertTrue(out.contains("all=[reference, swar]"), out);
        assertTrue(out.contains("reason=swar (jdk.incubator.vector is not in the boot layer"), out);
        assertTrue(out.contains("q=9,8,15"), out);
        assertFalse(out.contains(VECTOR_LOADED), out);
    }

    @Test
    void forcingVectorWithoutTheModuleStillRuns() throws Exception {
        final String out = fork(List.of("-D" + ParityKernels.KERNEL_PROPERTY + "=vector"));
        assertTrue(out.contains("best=swar"), out);
        assertFalse(out.contains(VECTOR_LOADED), out);
    }

    @Test
    void withTheModuleVectorIsChosen() throws Exception {
        final String out = fork(List.of("--add-modules=jdk.incubator.vector"));
        assertTrue(out.contains("best=vector"), out);
        assertTrue(out.contains(VECTOR_LOADED), "positive control of the class-load log: " + out);
        assertTrue(out.contains("all=[reference, swar, vector]"), out);
        assertTrue(out.contains("q=9,8,15"), out);
    }

    @Test
    void withoutC2TheVectorKernelIsNotChosen() throws Exception {
        final String out = fork(List.of("--add-modules=jdk.incubator.vector", "-XX:TieredStopAtLevel=1"));
        assertTrue(out.contains("best=swar"), out);
        assertTrue(out.contains("TieredStopAtLevel=1"), out);
    }

    private static String fork(List<String> jvmArgs) throws IOException, InterruptedException {
        final List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(jvmArgs);
        command.add("-Xlog:class+load=info");
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(ParityKernelsIT.class.getName());
        final Process process =
                new ProcessBuilder(command).redirectErrorStream(true).start();
        final String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(60, TimeUnit.SECONDS), "forked JVM finished");
        assertEquals(0, process.exitValue(), out);
        return out;
    }
}
