package io.raidd.bench;

import io.raidd.blockdev.FileBlockDevice;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;
import jnr.ffi.types.off_t;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What it costs to make sure a member write never extends an image file that shrank under us: the
 * file's size is checked before the write (refuse if shorter) and after it (report if it changed).
 * Positional writes of {@code writeBytes} from a direct buffer walk an allocated 256 MiB file in
 * {@code dir} (default /dev/shm, tmpfs), without any check ({@code pwrite}) and with the size asked
 * three ways: {@code FileChannel.size()} (fstat, but under the channel's position lock), {@code
 * lseek(fd, 0, SEEK_END)} through jnr-ffi, {@code fstat} through jnr-ffi; then {@code
 * FileBlockDevice.write} itself (lseek before, and after from 64 KiB, under its descriptor guard).
 * The {@code *Only} benchmarks time the size query alone.
 *
 * <p>Time per write, and {@code cpuNsPerOp}: the thread's CPU time per write. JMH adds that
 * counter up over the measured iterations (divide the table's value by Cnt, or read the
 * per-iteration values with {@code -rf json}). {@code bench/member-size-check.sh} compares {@code
 * fileBlockDeviceWrite} with the FileBlockDevice from before the checks; results in
 * bench/README.md.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class MemberSizeCheckBenchmark {
    private static final long FILE_BYTES = 256L << 20;
    private static final int SEEK_END = 2;
    /** x86-64 {@code struct stat} is 144 bytes, aarch64's 128; st_size is at 48 in both. */
    private static final int ST_SIZE = 48;

    /** The two libc calls compared; the blockdev module's LibC is package-private. */
    public interface Native {
        int open(String path, int flags);

        int close(int fd);

        @off_t
        long lseek(int fd, @off_t long offset, int whence);

        int fstat(int fd, Pointer buf);
    }

    @Param({"4096", "524288"})
    public int writeBytes;

    @Param({"/dev/shm"})
    public String dir;

    private Path file;
    private FileChannel channel;
    private Native libc;
    private Runtime runtime;
    private int fd;
    private FileBlockDevice device;

    /**
     * Each thread walks the file from its own place with its own buffers, and reports the CPU time
     * it spent per operation ({@code cpuNsPerOp}, the thread's CPU clock over the iteration divided
     * by its operations): unlike the wall-clock score, it does not count the time the thread waited
     * for a core, which on a shared machine is most of the noise.
     */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.EVENTS)
    public static class Writer {
        private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

        ByteBuffer src;
        Pointer statBuf;
        long at;
        long ops;
        long cpuStartNs;
        public double cpuNsPerOp;

        @Setup(Level.Iteration)
        public void startClock() {
            ops = 0;
            cpuStartNs = THREADS.getCurrentThreadCpuTime();
        }

        @TearDown(Level.Iteration)
        public void stopClock() {
            cpuNsPerOp = ops == 0 ? 0 : (double) (THREADS.getCurrentThreadCpuTime() - cpuStartNs) / ops;
        }

        @Setup(Level.Trial)
        public void setUp(MemberSizeCheckBenchmark b) {
            byte[] fill = new byte[b.writeBytes];
            new SplittableRandom(7).nextBytes(fill);
            src = ByteBuffer.allocateDirect(b.writeBytes);
            src.put(fill).flip();
            statBuf = Memory.allocateDirect(b.runtime, 256);
            at = new SplittableRandom().nextLong(FILE_BYTES / b.writeBytes) * b.writeBytes;
        }

        long next(int writeBytes) {
            ops++;
            long off = at;
            at = (at + writeBytes) % FILE_BYTES;
            return off;
        }
    }

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        file = Files.createTempFile(Path.of(dir), "member-size-check", ".img");
        channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
        byte[] fill = new byte[1 << 20];
        new SplittableRandom(3).nextBytes(fill);
        for (long off = 0; off < FILE_BYTES; off += fill.length) {
            channel.write(ByteBuffer.wrap(fill), off);
        }
        libc = LibraryLoader.create(Native.class).load("c");
        runtime = Runtime.getRuntime(libc);
        fd = libc.open(file.toString(), 2 /* O_RDWR */);
        if (fd < 0) {
            throw new IOException("open " + file + " failed");
        }
        device = FileBlockDevice.open(file, false);
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        device.close();
        libc.close(fd);
        channel.close();
        Files.deleteIfExists(file);
    }

    private static void check(long sizeBytes) throws IOException {
        if (sizeBytes != FILE_BYTES) {
            throw new IOException("file size changed to " + sizeBytes);
        }
    }

    private long lseekSize() {
        return libc.lseek(fd, 0, SEEK_END);
    }

    private long fstatSize(Pointer buf) throws IOException {
        if (libc.fstat(fd, buf) != 0) {
            throw new IOException("fstat failed");
        }
        return buf.getLong(ST_SIZE);
    }

    /** The size query alone, to read the others' differences against. */
    @Benchmark
    public long lseekOnly(Writer w) {
        w.ops++;
        return lseekSize();
    }

    @Benchmark
    public long fstatOnly(Writer w) throws IOException {
        w.ops++;
        return fstatSize(w.statBuf);
    }

    @Benchmark
    public long channelSizeOnly(Writer w) throws IOException {
        w.ops++;
        return channel.size();
    }

    @Benchmark
    public int pwrite(Writer w) throws IOException {
        return channel.write(w.src.duplicate(), w.next(writeBytes));
    }

    @Benchmark
    public int channelSizeBeforeAndAfter(Writer w) throws IOException {
        check(channel.size());
        int n = channel.write(w.src.duplicate(), w.next(writeBytes));
        check(channel.size());
        return n;
    }

    @Benchmark
    public int lseekBefore(Writer w) throws IOException {
        check(lseekSize());
        return channel.write(w.src.duplicate(), w.next(writeBytes));
    }

    @Benchmark
    public int lseekBeforeAndAfter(Writer w) throws IOException {
        check(lseekSize());
        int n = channel.write(w.src.duplicate(), w.next(writeBytes));
        check(lseekSize());
        return n;
    }

    @Benchmark
    public int fstatBeforeAndAfter(Writer w) throws IOException {
        check(fstatSize(w.statBuf));
        int n = channel.write(w.src.duplicate(), w.next(writeBytes));
        check(fstatSize(w.statBuf));
        return n;
    }

    @Benchmark
    public void fileBlockDeviceWrite(Writer w) throws IOException {
        device.write(w.next(writeBytes), w.src.duplicate());
    }
}
