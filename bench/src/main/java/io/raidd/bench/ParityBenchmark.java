package io.raidd.bench;

import io.raidd.raid.parity.ParityKernel;
import io.raidd.raid.parity.ParityKernels;
import io.raidd.raid.parity.Raid6Recovery;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Parity throughput on one stripe of {@code dataBlocks} chunks of {@code chunkBytes}, cached
 * (k=8 x 64 KiB = 512 KiB fits in this machine's 1 MiB L2). Besides ops/s each benchmark reports
 * the secondary result {@code dataGB}: gigabytes (10^9 bytes) of DATA chunks processed per second,
 * that is ops/s x dataBlocks x chunkBytes / 10^9. For recovery the data processed is the whole
 * stripe's data (k chunks, two of which are rebuilt), so the numbers compare with generation.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = "--add-modules=jdk.incubator.vector")
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class ParityBenchmark {

    @Param({"reference", "swar", "vector"})
    public String kernel;

    @Param({"4", "8"})
    public int dataBlocks;

    @Param({"65536"})
    public int chunkBytes;

    private ParityKernel parity;
    private Raid6Recovery recovery;
    private byte[][] stripe;
    private byte[] p;
    private byte[] q;

    /** Reported per second: GB of data chunks processed. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class DataCounter {
        public double dataGB;

        @Setup(Level.Iteration)
        public void reset() {
            dataGB = 0;
        }
    }

    @Setup
    public void setUp() {
        parity = ParityKernels.byName(kernel)
                .orElseThrow(() ->
                        new IllegalStateException(kernel + " cannot run here: " + ParityKernels.selectionReason()));
        recovery = new Raid6Recovery(parity);
        final SplittableRandom random = new SplittableRandom(42);
        stripe = new byte[dataBlocks + 2][chunkBytes];
        for (byte[] block : stripe) {
            random.nextBytes(block);
        }
        p = stripe[dataBlocks];
        q = stripe[dataBlocks + 1];
        parity.pq(stripe, dataBlocks, p, q, 0, chunkBytes);
    }

    @Benchmark
    public byte[] xorP(DataCounter counter) {
        parity.p(stripe, dataBlocks, p, 0, chunkBytes);
        counter.dataGB += (double) dataBlocks * chunkBytes / 1e9;
        return p;
    }

    @Benchmark
    public byte[] pq(DataCounter counter) {
        parity.pq(stripe, dataBlocks, p, q, 0, chunkBytes);
        counter.dataGB += (double) dataBlocks * chunkBytes / 1e9;
        return q;
    }

    /** Rebuilds data blocks 0 and 1 (the first and second in syndrome order) in place. */
    @Benchmark
    public byte[][] recoverTwoData(DataCounter counter) {
        recovery.recover(stripe, dataBlocks, 0, 1, 0, chunkBytes);
        counter.dataGB += (double) dataBlocks * chunkBytes / 1e9;
        return stripe;
    }
}
