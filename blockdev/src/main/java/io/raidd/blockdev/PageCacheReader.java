package io.raidd.blockdev;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.util.List;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * Gives views of a regular file's bytes in memory when, and only when, every page of the range is
 * resident in the page cache (tmpfs pages always are unless swapped out): the caller then copies
 * memory, or hands the pages to a socket, instead of making a system call that may sleep on a disk.
 * This is what lets an NBD event loop answer a cached read itself. {@code preadv2(RWF_NOWAIT)} is
 * the usual tool for that, but tmpfs answers it with EOPNOTSUPP (Linux 6.x), so residency is asked
 * with {@code mincore(2)} on a shared read-only mapping instead ({@link MappedByteBuffer#isLoaded()}).
 *
 * <ul>
 *   <li>A page evicted between the check and its use is read in by a page fault: a rare stall of
 *       one disk read, which on a hung disk does not end. The window is the time between the check
 *       and the copy, or, for views sent as they are, until the socket has taken them: at once
 *       normally, at the client's pace when it reads replies slowly.
 *   <li>Writes through the file descriptor and reads through the mapping share the page cache, so
 *       the mapping is never stale.
 *   <li>A window is mapped through a read-only channel: the JDK extends a file shorter than the
 *       mapped region when the channel is writable, which a read must never do.
 *   <li>No system call but mincore is made: the caller may be an event loop, and on a file whose
 *       server hangs (FUSE) even lseek(SEEK_END) waits for it. So a file shrunk under the mapping
 *       is not noticed here: a copy from it faults (SIGBUS, which the JVM turns into an {@link
 *       InternalError}), {@link BlockDevice#readIfCached} then answers "not cached" and the
 *       caller's ordinary read reports the real problem. Views handed to anyone else stay exposed
 *       to that: see {@link FileBlockDevice#viewIfCached} for who faults and how.
 *   <li>Mappings are made lazily, {@link #WINDOW_BYTES} at a time, and never unmapped explicitly:
 *       the JVM unmaps them once unreachable (a view keeps its mapping reachable), so a view used
 *       after close stays safe.
 * </ul>
 *
 * Thread-safe.
 */
final class PageCacheReader {
    static final int WINDOW_BYTES = 1 << 30;

    /** Opens a read-only channel on the file; the reader maps through it and closes it. */
    interface ChannelOpener {
        FileChannel open() throws IOException;
    }

    private final ChannelOpener opener;
    private final long sizeBytes;
    private final AtomicReferenceArray<MappedByteBuffer> windows;

    PageCacheReader(ChannelOpener opener, long sizeBytes) {
        this.opener = opener;
        this.sizeBytes = sizeBytes;
        this.windows = new AtomicReferenceArray<>((int) ((sizeBytes + WINDOW_BYTES - 1) / WINDOW_BYTES));
    }

    /**
     * Appends views of {@code [offsetBytes, offsetBytes + lengthBytes)} (one per mapping window it
     * crosses) to {@code out} if every page is resident and returns true; otherwise returns false
     * with {@code out} as it was. Also false when the file no longer holds the whole range.
     */
    boolean views(long offsetBytes, int lengthBytes, List<ByteBuffer> out) {
        int mark = out.size();
        long end = offsetBytes + lengthBytes;
        try {
            long pos = offsetBytes;
            while (pos < end) {
                int w = (int) (pos / WINDOW_BYTES);
                int in = (int) (pos - (long) w * WINDOW_BYTES);
                int n = (int) Math.min(end - pos, WINDOW_BYTES - in);
                MappedByteBuffer part = window(w).slice(in, n);
                if (!part.isLoaded()) {
                    out.subList(mark, out.size()).clear();
                    return false;
                }
                out.add(part);
                pos += n;
            }
            return true;
        } catch (IOException | RuntimeException | InternalError e) {
            out.subList(mark, out.size()).clear();
            return false;
        }
    }

    private MappedByteBuffer window(int w) throws IOException {
        MappedByteBuffer mapped = windows.get(w);
        if (mapped != null) {
            return mapped;
        }
        long start = (long) w * WINDOW_BYTES;
        long length = Math.min(WINDOW_BYTES, sizeBytes - start);
        // Read-only, so a file shrunk below the window fails the map instead of being extended.
        try (FileChannel channel = opener.open()) {
            mapped = channel.map(FileChannel.MapMode.READ_ONLY, start, length);
        }
        // Two threads may map the same window at once; one mapping wins, the other is dropped.
        return windows.compareAndSet(w, null, mapped) ? mapped : windows.get(w);
    }
}
