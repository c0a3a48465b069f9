package io.raidd.raid.parity;

import java.lang.management.ManagementFactory;
import java.lang.reflect.InvocationTargetException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Chooses the parity kernel for this JVM. The Vector API kernel wins whenever it can run compiled
 * (P+Q measured at 3x the SWAR kernel with 128-bit vectors and 7-12x with 256/512-bit ones,
 * bench/README.md), while interpreted or C1-compiled it is far slower than SWAR. So the choice is
 * made from capabilities rather than from a startup timing race, which would mostly time the
 * interpreter: the vector kernel is used when {@code jdk.incubator.vector} is in the boot layer,
 * the preferred vector holds at least 16 bytes and C2 is available; otherwise the SWAR kernel.
 * {@code -Draidd.parity.kernel=reference|swar|vector} forces one.
 *
 * <p>The vector kernel is loaded by name, never linked from here, so this class works on a JVM
 * started without {@code --add-modules=jdk.incubator.vector}.
 */
public final class ParityKernels {

    public static final String KERNEL_PROPERTY = "raidd.parity.kernel";

    static final String VECTOR_MODULE = "jdk.incubator.vector";
    static final String VECTOR_KERNEL_CLASS = "io.raidd.raid.parity.VectorKernel";

    private static final int C2_TIER = 4;

    private static final ParityKernel REFERENCE = new ReferenceKernel();
    private static final ParityKernel SWAR = new SwarKernel();

    private ParityKernels() {}

    /** The kernel this JVM should use; decided once. */
    public static ParityKernel best() {
        return Holder.SELECTION.kernel();
    }

    /** One line saying which kernel {@link #best()} is and why, for the startup log. */
    public static String selectionReason() {
        return Holder.SELECTION.reason();
    }

    /** With the daemon's 500 rounds of {@link #warmUp}, every pass of {@link BufferParity} runs over 600 times. */
    private static final int BUFFER_PARITY_CALLS_PER_ROUND = 16;

    /**
     * Runs every operation of {@code kernel} over small blocks {@code rounds} times, so that the JIT
     * compiles it before real stripes need it. The Vector API kernel runs many times slower
     * interpreted or C1-compiled than under C2 (the allocation of every intermediate vector), and a
     * daemon otherwise spends its first seconds of writes and rebuilds at that speed. {@link
     * BufferParity} is warmed up too, from direct buffers (as the network delivers them) and
     * with one to eight sources (every pass it has). Returns a checksum of the results, so the
     * work cannot be optimised away.
     */
    public static long warmUp(ParityKernel kernel, int rounds) {
        final int length = 8 * 1024;
        final int count = 4;
        final byte[][] data = new byte[count + 2][length];
        for (int d = 0; d < data.length; d++) {
            for (int i = 0; i < length; i++) {
                data[d][i] = (byte) (i * 31 + d * 7);
            }
        }
        final byte[] p = data[count];
        final byte[] q = data[count + 1];
        long sum = 0;
        // BufferParity first, so C2 has the longest time to finish it before serving starts, and in
        // many short calls: C2 compiles a method once it has been called often enough (600 times,
        // Tier4MinInvocationThreshold); long loops alone only get an on-stack replacement, and the
        // daemon then ran its first seconds of RAID-5 writes with P in C1 code (measured: one 8 s
        // run in three spent 21-35 % of its CPU there, against 6-7 %).
        final ByteBuffer[] buffers = new ByteBuffer[2 * count];
        for (int d = 0; d < buffers.length; d++) {
            buffers[d] = ByteBuffer.allocateDirect(length).put(data[d % count]).flip();
        }
        final int shortLength = 1024;
        final ByteBuffer parity = ByteBuffer.allocateDirect(shortLength);
        for (int r = 0; r < BUFFER_PARITY_CALLS_PER_ROUND * rounds; r++) {
            BufferParity.p(buffers, 1 + r % buffers.length, parity, shortLength);
            sum += parity.get(r % shortLength);
        }
        for (int r = 0; r < rounds; r++) {
            kernel.pq(data, count, p, q, 0, length);
            kernel.p(data, count, p, 0, length);
            kernel.xorInto(p, q, 0, length);
            kernel.mulXorInto(r | 1, p, q, 0, length);
            kernel.mul(r | 2, q, q, 0, length);
            kernel.recoverTwoData(r | 3, r | 5, p, q, data[0], data[1], 0, length);
            kernel.recoverDataAndP(r | 7, p, q, data[2], 0, length);
            sum += q[r % length];
        }
        return sum;
    }

    /** Every kernel that can run in this JVM, the reference first; for tests and benchmarks. */
    public static List<ParityKernel> all() {
        final List<ParityKernel> kernels = new ArrayList<>(List.of(REFERENCE, SWAR));
        Holder.VECTOR.kernel().ifPresent(kernels::add);
        return List.copyOf(kernels);
    }

    /** The kernel called {@code name} if it can run in this JVM. */
    public static Optional<ParityKernel> byName(String name) {
        return all().stream().filter(k -> k.name().equals(name)).findFirst();
    }

    /** Whether the Vector API module was resolved into the boot layer at startup. */
    public static boolean vectorModulePresent() {
        return ModuleLayer.boot().findModule(VECTOR_MODULE).isPresent();
    }

    /** The choice for a forced name ({@code null} = none) given what the vector probe found. */
    static Selection select(String forced, VectorAvailability vector) {
        if (forced != null && !forced.isBlank()) {
            switch (forced.trim().toLowerCase(Locale.ROOT)) {
                case ReferenceKernel.NAME:
                    return new Selection(REFERENCE, "reference (forced by " + KERNEL_PROPERTY + ")");
                case SwarKernel.NAME:
                    return new Selection(SWAR, "swar (forced by " + KERNEL_PROPERTY + ")");
                case VectorKernel.NAME: // a constant: javac inlines it, VectorKernel is not loaded
                    if (vector.kernel().isPresent()) {
                        return new Selection(vector.kernel().get(), "vector (forced by " + KERNEL_PROPERTY + ")");
                    }
                    return new Selection(
                            SWAR, "swar (" + KERNEL_PROPERTY + "=vector, but " + vector.unavailableReason() + ")");
                default:
                    throw new IllegalArgumentException(KERNEL_PROPERTY + "=" + forced
                            + " is not one of " + ReferenceKernel.NAME + ", " + SwarKernel.NAME + ", "
                            + VectorKernel.NAME);
            }
        }
        if (vector.kernel().isPresent()) {
            return new Selection(vector.kernel().get(), "vector (" + vector.detail() + ")");
        }
        return new Selection(SWAR, "swar (" + vector.unavailableReason() + ")");
    }

    /** Looks at this JVM: module present, C2 on, species wide enough, class loads. */
    static VectorAvailability probeVector() {
        if (!vectorModulePresent()) {
            return VectorAvailability.unavailable(VECTOR_MODULE
                    + " is not in the boot layer (start the JVM with --add-modules=" + VECTOR_MODULE + ")");
        }
        final String noC2 = missingOptimisingCompiler();
        if (noC2 != null) {
            return VectorAvailability.unavailable(noC2 + ": the Vector API is only fast when C2 compiles it");
        }
        try {
            final Class<?> type = Class.forName(VECTOR_KERNEL_CLASS);
            final ParityKernel kernel =
                    (ParityKernel) type.getDeclaredConstructor().newInstance();
            final int bits = (Integer) type.getMethod("vectorBits").invoke(null);
            return new VectorAvailability(Optional.of(kernel), "", bits + "-bit vectors");
        } catch (InvocationTargetException e) {
            return VectorAvailability.unavailable(String.valueOf(e.getCause().getMessage()));
        } catch (ReflectiveOperationException | LinkageError e) {
            return VectorAvailability.unavailable("cannot load " + VECTOR_KERNEL_CLASS + ": " + e);
        }
    }

    /** Why C2 will not run here, or {@code null} if it will (or we cannot tell). */
    private static String missingOptimisingCompiler() {
        if (System.getProperty("java.vm.info", "").contains("interpreted mode")) {
            return "the JVM runs interpreted (-Xint)";
        }
        try {
            final com.sun.management.HotSpotDiagnosticMXBean hotSpot =
                    ManagementFactory.getPlatformMXBean(com.sun.management.HotSpotDiagnosticMXBean.class);
            if (hotSpot == null) {
                return null;
            }
            final boolean tiered = Boolean.parseBoolean(
                    hotSpot.getVMOption("TieredCompilation").getValue());
            final int stopLevel =
                    Integer.parseInt(hotSpot.getVMOption("TieredStopAtLevel").getValue());
            return tiered && stopLevel < C2_TIER ? "C2 is off (-XX:TieredStopAtLevel=" + stopLevel + ")" : null;
        } catch (RuntimeException | LinkageError e) {
            return null; // not HotSpot, or the flag is gone: assume an optimising JIT
        }
    }

    record Selection(ParityKernel kernel, String reason) {}

    record VectorAvailability(Optional<ParityKernel> kernel, String unavailableReason, String detail) {
        static VectorAvailability unavailable(String reason) {
            return new VectorAvailability(Optional.empty(), reason, "");
        }
    }

    private static final class Holder {
        static final VectorAvailability VECTOR = probeVector();
        static final Selection SELECTION = select(System.getProperty(KERNEL_PROPERTY), VECTOR);
    }
}
