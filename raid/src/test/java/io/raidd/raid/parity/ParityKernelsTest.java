package io.raidd.raid.parity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.raidd.raid.parity.ParityKernels.Selection;
import io.raidd.raid.parity.ParityKernels.VectorAvailability;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ParityKernelsTest {

    // Only the availability record stands between the selection and the module; the kernel object is opaque to it.
    private static final ParityKernel FAKE_VECTOR = new VectorKernel();
    private static final VectorAvailability PRESENT =
            new VectorAvailability(Optional.of(FAKE_VECTOR), "", "512-bit vectors");
    private static final VectorAvailability ABSENT = VectorAvailability.unavailable("module absent");

    @Test
    void warmUpComputesTheSameResultsWithEveryKernel() {
        long expected = ParityKernels.warmUp(new ReferenceKernel(), 5);
        for (ParityKernel kernel : ParityKernels.all()) {
            assertEquals(expected, ParityKernels.warmUp(kernel, 5), kernel.name());
        }
        assertTrue(expected != ParityKernels.warmUp(new ReferenceKernel(), 4), "the checksum depends on the work");
    }

    @Test
    void prefersVectorWhenItCanRun() {
        final Selection selection = ParityKernels.select(null, PRESENT);
        assertSame(FAKE_VECTOR, selection.kernel());
        assertEquals("vector (512-bit vectors)", selection.reason());
    }

    @Test
    void fallsBackToSwarWithTheReason() {
        final Selection selection = ParityKernels.select(null, ABSENT);
        assertEquals(SwarKernel.NAME, selection.kernel().name());
        assertEquals("swar (module absent)", selection.reason());
    }

    @Test
    void propertyForcesAKernel() {
        assertEquals(
                ReferenceKernel.NAME,
                ParityKernels.select("reference", PRESENT).kernel().name());
        assertEquals(
                SwarKernel.NAME,
                ParityKernels.select(" SWAR ", PRESENT).kernel().name());
        assertSame(FAKE_VECTOR, ParityKernels.select("vector", PRESENT).kernel());
        assertSame(FAKE_VECTOR, ParityKernels.select("  ", PRESENT).kernel(), "blank means not forced");
    }

    @Test
    void forcingAnAbsentVectorKernelFallsBackInsteadOfFailing() {
        final Selection selection = ParityKernels.select("vector", ABSENT);
        assertEquals(SwarKernel.NAME, selection.kernel().name());
        assertTrue(selection.reason().contains("module absent"), selection.reason());
    }

    @Test
    void aMisspelledKernelIsAnError() {
        assertThrows(IllegalArgumentException.class, () -> ParityKernels.select("avx512", PRESENT));
    }

    @Test
    void thisJvmPicksTheVectorKernel() {
        // surefire passes --add-modules=jdk.incubator.vector and runs C2.
        assumeTrue(System.getProperty(ParityKernels.KERNEL_PROPERTY) == null, "kernel forced on the command line");
        assertEquals(VectorKernel.NAME, ParityKernels.best().name(), ParityKernels.selectionReason());
    }
}
