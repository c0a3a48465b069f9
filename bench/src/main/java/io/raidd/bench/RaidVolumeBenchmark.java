package io.raidd.bench;

import io.raidd.blockdev.MemoryBlockDevice;
import io.raidd.raid.layout.Geometry;
import io.raidd.raid.volume.RaidVolume;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The RAID engine alone (no network): a 4+1 RAID-5 over in-memory members, so the numbers show
 * what the volume layer costs on top of memcpy: member fan-out, thread hand-offs, parity, locks.
 * Run with several threads (-t 4) to see concurrency.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class RaidVolumeBenchmark {
    private static final long MEMBER_BYTES = 256L << 20;

    @Param({"524288", "65536"})
    int chunkBytes;

    RaidVolume volume;

    @State(Scope.Thread)
    public static class Buffers {
        ByteBuffer small = ByteBuffer.allocateDirect(4096);
        ByteBuffer large = ByteBuffer.allocateDirect(1 << 20);
    }

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        Geometry g = Geometry.of(5, Geometry.LEFT_SYMMETRIC, chunkBytes, 5, MEMBER_BYTES);
        RaidVolume.Builder b = RaidVolume.builder("bench", g);
        for (int i = 0; i < 5; i++) {
            b.member(i, "m" + i, new MemoryBlockDevice(MEMBER_BYTES), 0);
        }
        volume = b.build();
        ByteBuffer fill = ByteBuffer.allocateDirect(1 << 20);
        for (long pos = 0; pos < volume.sizeBytes(); pos += fill.capacity()) {
            fill.clear();
            volume.write(pos, fill);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        volume.close();
    }

    private long randomBlock(int blockBytes) {
        return ThreadLocalRandom.current().nextLong(volume.sizeBytes() / blockBytes) * blockBytes;
    }

    @Benchmark
    public void randomRead4k(Buffers b) throws IOException {
        b.small.clear();
        volume.read(randomBlock(4096), b.small);
    }

    @Benchmark
    public void randomWrite4k(Buffers b) throws IOException {
        b.small.clear();
        volume.write(randomBlock(4096), b.small);
    }

    @Benchmark
    public void read1m(Buffers b) throws IOException {
        b.large.clear();
        volume.read(randomBlock(1 << 20), b.large);
    }

    @Benchmark
    public void write1m(Buffers b) throws IOException {
        b.large.clear();
        volume.write(randomBlock(1 << 20), b.large);
    }
}
