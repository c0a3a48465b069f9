package io.raidd.blockdev;

import java.io.EOFException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * What image files and raw block devices share: positional I/O through a {@link FileChannel}, and a
 * second, libc descriptor of the same file for the calls the JDK does not offer (hole punching,
 * SEEK_DATA, ioctls).
 *
 * <p>A {@link FileChannel} is closed by the JDK when a thread blocked in it is interrupted. One
 * interrupted executor thread must not take a RAID member offline, so the channel is reopened
 * transparently: the interrupted call fails with {@link InterruptedIOException}, calls on other
 * threads that saw the channel close under them retry on the new channel (positional I/O is
 * idempotent).
 *
 * <p>The libc descriptor is guarded by a read-write lock so that {@link #close()} can never close
 * it while a call uses it; a closed and reused descriptor number would otherwise let a late punch
 * or ioctl hit an unrelated file.
 */
abstract class ChannelBlockDevice implements BlockDevice {
    private static final int ZERO_CHUNK_BYTES = 1 << 20;
    private static final ByteBuffer ZEROES =
            ByteBuffer.allocateDirect(ZERO_CHUNK_BYTES).asReadOnlyBuffer();

    /** Operation on the libc descriptor, run while the descriptor is guaranteed open. */
    @FunctionalInterface
    interface FdCall<T> {
        T apply(int fd) throws IOException;
    }

    private final Path path;
    private final boolean readOnly;
    private final int fd;
    private final ReentrantReadWriteLock fdGuard = new ReentrantReadWriteLock();
    private final Object reopenLock = new Object();
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile FileChannel channel;

    ChannelBlockDevice(Path path, boolean readOnly, FileChannel channel, int fd) {
        this.path = path;
        this.readOnly = readOnly;
        this.channel = channel;
        this.fd = fd;
    }

    static FileChannel openChannel(Path path, boolean readOnly) throws IOException {
        return readOnly
                ? FileChannel.open(path, StandardOpenOption.READ)
                : FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
    }

    /** The file or device node this device was opened from. */
    public final Path path() {
        return path;
    }

    @Override
    public final boolean isReadOnly() {
        return readOnly;
    }

    @Override
    public final void read(long offsetBytes, ByteBuffer dst) throws IOException {
        checkRange(offsetBytes, dst.remaining());
        ensureOpen();
        long positionBytes = offsetBytes;
        while (dst.hasRemaining()) {
            FileChannel ch = channel;
            int n;
            try {
                n = ch.read(dst, positionBytes);
            } catch (ClosedChannelException e) {
                recoverChannel(ch, e, "read", positionBytes);
                continue;
            }
            if (n < 0) {
                throw new EOFException("short read from " + path + " at offset " + positionBytes + ": end of file with "
                        + dst.remaining() + " bytes still to read (was the file truncated?)");
            }
            positionBytes += n;
        }
    }

    @Override
    public final void write(long offsetBytes, ByteBuffer src) throws IOException {
        checkRange(offsetBytes, src.remaining());
        ensureWritable("write");
        writeFully(offsetBytes, src);
    }

    /** fdatasync: data and the metadata needed to read it back, not timestamps. */
    @Override
    public final void flush() throws IOException {
        ensureOpen();
        while (true) {
            FileChannel ch = channel;
            try {
                ch.force(false);
                return;
            } catch (ClosedChannelException e) {
                recoverChannel(ch, e, "flush", 0);
            }
        }
    }

    @Override
    public final void close() throws IOException {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        fdGuard.writeLock().lock();
        try {
            IOException failure = null;
            try {
                synchronized (reopenLock) {
                    channel.close();
                }
            } catch (IOException e) {
                failure = e;
            }
            try {
                LibC.close(fd, path);
            } catch (IOException e) {
                if (failure == null) {
                    failure = e;
                } else {
                    failure.addSuppressed(e);
                }
            }
            if (failure != null) {
                throw failure;
            }
        } finally {
            fdGuard.writeLock().unlock();
        }
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "[" + path + (readOnly ? ", read-only" : "") + "]";
    }

    // ----------------------------------------------------------------------------- for subclasses

    final void writeFully(long offsetBytes, ByteBuffer src) throws IOException {
        ensureOpen();
        long positionBytes = offsetBytes;
        while (src.hasRemaining()) {
            FileChannel ch = channel;
            try {
                positionBytes += ch.write(src, positionBytes);
            } catch (ClosedChannelException e) {
                recoverChannel(ch, e, "write", positionBytes);
            }
        }
    }

    /** Zeroes a range the slow way, for file systems and devices without a zeroing primitive. */
    final void writeZeroesByWriting(long offsetBytes, long lengthBytes) throws IOException {
        ByteBuffer zeroes = ZEROES.duplicate();
        long positionBytes = offsetBytes;
        long endBytes = offsetBytes + lengthBytes;
        while (positionBytes < endBytes) {
            int chunkBytes = (int) Math.min(ZERO_CHUNK_BYTES, endBytes - positionBytes);
            zeroes.clear().limit(chunkBytes);
            writeFully(positionBytes, zeroes);
            positionBytes += chunkBytes;
        }
    }

    final <T> T withFd(FdCall<T> call) throws IOException {
        fdGuard.readLock().lock();
        try {
            ensureOpen();
            return call.apply(fd);
        } finally {
            fdGuard.readLock().unlock();
        }
    }

    final boolean isClosed() {
        return closed.get();
    }

    final void ensureOpen() throws IOException {
        if (closed.get()) {
            throw new IOException("device is closed: " + path);
        }
    }

    final void ensureWritable(String operation) throws IOException {
        ensureOpen();
        if (readOnly) {
            throw new IOException(operation + " refused: " + path + " is open read-only");
        }
    }

    // ------------------------------------------------------------------------------------ private

    /**
     * Called when {@code failed} turned out closed. Reopens it unless the device itself was closed;
     * rethrows when this thread's own interrupt closed it, so the caller's loop retries otherwise.
     */
    private void recoverChannel(FileChannel failed, ClosedChannelException cause, String operation, long offsetBytes)
            throws IOException {
        synchronized (reopenLock) {
            ensureOpen();
            if (channel == failed) {
                channel = openChannel(path, readOnly);
            }
        }
        if (cause instanceof ClosedByInterruptException) {
            InterruptedIOException e = new InterruptedIOException(
                    operation + " on " + path + " at offset " + offsetBytes + " interrupted; channel reopened");
            e.initCause(cause);
            throw e;
        }
    }
}
