package io.raidd.bench;

import io.raidd.raid.parity.BufferParity;
import io.raidd.raid.parity.ParityKernel;
import io.raidd.raid.parity.ParityKernels;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * RAID-5 full-stripe parity of one 64 KiB window ({@code ParityWrites.PARITY_WINDOW_BYTES}) whose
 * data sits in direct buffers, as a WRITE payload does: copied to the heap and run through the array
 * kernel (what the engine did before {@link BufferParity}), against {@link BufferParity} reading the
 * buffers into a direct P (what the engine does now), and against the plain loop over a variable number of sources that C2 does not vectorise.
 * Sources rotate through a pool of {@code poolMiB}: 1 stays in cache, 64 does not (a payload just
 * received may be either). Time per window.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = "--add-modules=jdk.incubator.vector")
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class DirectParityBenchmark {
    static final int WINDOW = 64 * 1024;

    @Param({"4", "8"})
    public int dataBlocks;

    @Param({"1", "64"})
    public int poolMiB;

    private ParityKernel parity;
    private ByteBuffer[] pool;
    private int next;
    private byte[][] windows;
    private ByteBuffer[] sources;
    private byte[] p;
    private ByteBuffer pLongs;
    private ByteBuffer pDirect;

    @Setup
    public void setUp() {
        parity = ParityKernels.best();
        int count = poolMiB * 1024 * 1024 / WINDOW;
        pool = new ByteBuffer[count];
        SplittableRandom random = new SplittableRandom(1);
        byte[] fill = new byte[WINDOW];
        for (int i = 0; i < count; i++) {
            random.nextBytes(fill);
            pool[i] = ByteBuffer.allocateDirect(WINDOW).put(fill).flip();
        }
        windows = new byte[dataBlocks + 1][WINDOW];
        sources = new ByteBuffer[dataBlocks];
        p = new byte[WINDOW];
        pLongs = ByteBuffer.wrap(p).order(ByteOrder.LITTLE_ENDIAN);
        pDirect = ByteBuffer.allocateDirect(WINDOW);
    }

    private ByteBuffer[] nextSources() {
        for (int z = 0; z < dataBlocks; z++) {
            sources[z] = pool[(next + z) % pool.length];
        }
        next = (next + dataBlocks) % pool.length;
        return sources;
    }

    @Benchmark
    public byte[] copyThenKernel() {
        ByteBuffer[] s = nextSources();
        for (int z = 0; z < dataBlocks; z++) {
            s[z].get(0, windows[z], 0, WINDOW);
        }
        parity.p(windows, dataBlocks, windows[dataBlocks], 0, WINDOW);
        System.arraycopy(windows[dataBlocks], 0, p, 0, WINDOW);
        return p;
    }

    @Benchmark
    public ByteBuffer bufferParity() {
        BufferParity.p(nextSources(), dataBlocks, pDirect, WINDOW);
        return pDirect;
    }

    @Benchmark
    public byte[] variableSourceLoop() {
        ByteBuffer[] s = nextSources();
        for (int z = 0; z < dataBlocks; z++) {
            s[z] = s[z].duplicate().order(ByteOrder.LITTLE_ENDIAN);
        }
        for (int i = 0; i < WINDOW; i += 32) {
            long p0 = 0;
            long p1 = 0;
            long p2 = 0;
            long p3 = 0;
            for (int z = 0; z < dataBlocks; z++) {
                ByteBuffer b = s[z];
                p0 ^= b.getLong(i);
                p1 ^= b.getLong(i + 8);
                p2 ^= b.getLong(i + 16);
                p3 ^= b.getLong(i + 24);
            }
            pLongs.putLong(i, p0);
            pLongs.putLong(i + 8, p1);
            pLongs.putLong(i + 16, p2);
            pLongs.putLong(i + 24, p3);
        }
        return p;
    }
}
