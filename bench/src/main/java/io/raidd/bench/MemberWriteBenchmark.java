package io.raidd.bench;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What one member write of a full-stripe chunk costs on tmpfs: {@code pwrite} from a direct buffer
 * (what {@code FileBlockDevice} does, and nbdkit's file plugin) against a copy into a shared mapping
 * of the same, already allocated file. Writes of {@code writeBytes} walk a 256 MiB file in
 * {@code dir} (default /dev/shm), so the page cache is touched as a benchmark's member would be.
 * Time per write.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class MemberWriteBenchmark {
    private static final long FILE_BYTES = 256L << 20;

    @Param({"524288"})
    public int writeBytes;

    @Param({"/dev/shm"})
    public String dir;

    private Path file;
    private FileChannel channel;
    private MappedByteBuffer mapping;
    private ByteBuffer src;
    private long at;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        file = Files.createTempFile(Path.of(dir), "member-write", ".img");
        channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
        byte[] fill = new byte[1 << 20];
        new SplittableRandom(3).nextBytes(fill);
        for (long off = 0; off < FILE_BYTES; off += fill.length) {
            channel.write(ByteBuffer.wrap(fill), off);
        }
        mapping = channel.map(FileChannel.MapMode.READ_WRITE, 0, FILE_BYTES);
        src = ByteBuffer.allocateDirect(writeBytes);
        src.put(fill, 0, writeBytes).flip();
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        channel.close();
        Files.deleteIfExists(file);
    }

    private long next() {
        long off = at;
        at = (at + writeBytes) % FILE_BYTES;
        return off;
    }

    @Benchmark
    public int pwrite() throws IOException {
        return channel.write(src.duplicate(), next());
    }

    @Benchmark
    public ByteBuffer copyIntoMapping() {
        return mapping.put((int) next(), src, 0, writeBytes);
    }
}
