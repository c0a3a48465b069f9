package io.raidd.blockdev;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Supplier;

/**
 * Reads a regular file's bytes from memory when, and only when, every page of the range is
 * resident in the page cache (tmpfs pages always are unless swapped out): the caller then copies
 * memory instead of making a system call that may sleep on a disk. This is what lets an NBD event
 * loop answer a cached read itself. {@code preadv2(RWF_NOWAIT)} is the usual tool for that, but tmpfs
 * answers it with EOPNOTSUPP (Linux 6.x), so residency is asked with {@code mincore(2)} on a
 * shared read-only mapping instead ({@link MappedByteBuffer#isLoaded()}).
 *
 * <ul>
 *   <li>A page evicted between the check and the copy is read in by a page fault: a rare stall of
 *       one disk read, which on a hung disk does not end. The window is the microseconds between
 *       the two steps.
 *   <li>Writes through the file descriptor and reads through the mapping share the page cache, so
 *       the mapping is never stale.
 *   <li>A file shrunk under the mapping makes the copy fault (SIGBUS, which the JVM turns into an
 *       {@link InternalError}); the read then answers "not resident" and the caller's ordinary read
 *       reports the real problem.
 *   <li>Mappings are made lazily, {@link #WINDOW_BYTES} at a time, and never unmapped explicitly:
 *       the JVM unmaps them once unreachable, so a copy racing with close stays safe.
 * </ul>
 *
 * Thread-safe.
 */
final class PageCacheReader {
    static final int WINDOW_BYTES = 1 << 30;

    private final Supplier<FileChannel> channel;
    private final long sizeBytes;
    private final AtomicReferenceArray<MappedByteBuffer> windows;

    PageCacheReader(Supplier<FileChannel> channel, long sizeBytes) {
        this.channel = channel;
        this.sizeBytes = sizeBytes;
        this.windows = new AtomicReferenceArray<>((int) ((sizeBytes + WINDOW_BYTES - 1) / WINDOW_BYTES));
    }

    /**
     * Copies {@code [offsetBytes, offsetBytes + dst.remaining())} into {@code dst} if every page is
     * resident and returns true; otherwise returns false with {@code dst}'s position unchanged.
     */
    boolean read(long offsetBytes, ByteBuffer dst) {
        int base = dst.position();
        long end = offsetBytes + dst.remaining();
        try {
            long pos = offsetBytes;
            while (pos < end) {
                int w = (int) (pos / WINDOW_BYTES);
                int in = (int) (pos - (long) w * WINDOW_BYTES);
                int n = (int) Math.min(end - pos, WINDOW_BYTES - in);
                MappedByteBuffer part = window(w).slice(in, n);
                if (!part.isLoaded()) {
                    dst.position(base);
                    return false;
                }
                dst.put(part);
                pos += n;
            }
            return true;
        } catch (IOException | RuntimeException | InternalError e) {
            dst.position(base);
            return false;
        }
    }

    private MappedByteBuffer window(int w) throws IOException {
        MappedByteBuffer mapped = windows.get(w);
        if (mapped != null) {
            return mapped;
        }
        long start = (long) w * WINDOW_BYTES;
        mapped = channel.get().map(FileChannel.MapMode.READ_ONLY, start, Math.min(WINDOW_BYTES, sizeBytes - start));
        // Two threads may map the same window at once; one mapping wins, the other is dropped.
        return windows.compareAndSet(w, null, mapped) ? mapped : windows.get(w);
    }
}
