package io.raidd.blockdev;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * What image files and raw block devices share: positional I/O through a {@link FileChannel}, and a
 * libc descriptor of the same open file for the calls the JDK does not offer (hole punching,
 * SEEK_DATA, ioctls, fstat). The libc descriptor is opened first and the channel is opened through
 * {@code /proc/self/fd/<descriptor>}, so both are the same file even if the path is renamed or
 * replaced in between.
 *
 * <p>A {@link FileChannel} is closed by the JDK when a thread blocked in it is interrupted. One
 * interrupted executor thread must not take a RAID member offline, so the channel is reopened
 * transparently, again through the libc descriptor (never the path, which may name another file by
 * now): the interrupted call fails with {@link InterruptedIOException}, calls on other threads that
 * saw the channel close under them retry on the new channel (positional I/O is idempotent).
 *
 * <p>The libc descriptor is guarded by a read-write lock so that {@link #close()} can never close
 * it while a call uses it; a closed and reused descriptor number would otherwise let a late punch
 * or ioctl hit an unrelated file. Lock order: the descriptor guard, then the reopen lock.
 *
 * <p>Failures are classified ({@link DeviceErrors}): a device that shrank, vanished or changed
 * identity throws {@link DeviceGoneException}, a full file system {@link NoSpaceException}.
 */
abstract class ChannelBlockDevice implements BlockDevice {
    private static final int ZERO_CHUNK_BYTES = 1 << 20;
    private static final ByteBuffer ZEROES =
            ByteBuffer.allocateDirect(ZERO_CHUNK_BYTES).asReadOnlyBuffer();
    /**
     * Writes at least this long check the size again afterwards. A check is one system call, 0.2 to
     * 0.35 µs of CPU with the descriptor guard (bench/README.md, MemberSizeCheckBenchmark): 15 to
     * 30 % of a 4 KiB write to tmpfs, about 2 % of a 64 KiB one, nothing measurable at 512 KiB. The
     * race the check after closes lasts as long as the write itself, so it is kept where it matters
     * most and costs least.
     */
    static final int AFTER_CHECK_MIN_BYTES = 64 << 10;

    /** Operation on the libc descriptor, run while the descriptor is guaranteed open. */
    @FunctionalInterface
    interface FdCall<T> {
        T apply(int fd) throws IOException;
    }

    private final Path path;
    private final boolean readOnly;
    private final int fd;
    /** fstat of the descriptor at open: the identity {@link #checkIdentity} compares against. */
    private final LibC.Stat opened;

    private final ReentrantReadWriteLock fdGuard = new ReentrantReadWriteLock();
    private final Object reopenLock = new Object();
    private final AtomicBoolean closed = new AtomicBoolean();
    /** Calls inside the channel now: closing it waits for them, so close does not while any hang. */
    private final java.util.concurrent.atomic.AtomicInteger inChannel = new java.util.concurrent.atomic.AtomicInteger();

    private volatile FileChannel channel;

    /** Takes over {@code fd} (the caller closes it if this throws) and opens the channel through it. */
    ChannelBlockDevice(Path path, boolean readOnly, int fd) throws IOException {
        this.path = path;
        this.readOnly = readOnly;
        this.fd = fd;
        this.opened = LibC.fstat(fd, path);
        this.channel = openThroughDescriptor(fd, readOnly);
    }

    /** fstat of the descriptor when the device was opened. */
    final LibC.Stat openedStat() {
        return opened;
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
                inChannel.incrementAndGet();
                try {
                    n = ch.read(dst, positionBytes);
                } finally {
                    inChannel.decrementAndGet();
                }
            } catch (ClosedChannelException e) {
                recoverChannel(ch, e, "read", positionBytes);
                continue;
            } catch (IOException e) {
                throw failure(e, "read", positionBytes, dst.remaining());
            }
            if (n < 0) {
                // Never a media error: the file (or device) is shorter than it was at open.
                throw shrunk("read at offset " + positionBytes + " met end of file with " + dst.remaining()
                        + " bytes still to read");
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

    /** One size check before and one after the whole run, instead of one pair per buffer. */
    @Override
    public final void writeGathered(long offsetBytes, List<ByteBuffer> srcs) throws IOException {
        long totalBytes = 0;
        for (ByteBuffer src : srcs) {
            totalBytes += src.remaining();
        }
        checkRange(offsetBytes, totalBytes);
        ensureWritable("write");
        refuseIfShrunk("write", offsetBytes, totalBytes);
        long positionBytes = offsetBytes;
        for (ByteBuffer src : srcs) {
            int n = src.remaining();
            writeUnguarded(positionBytes, src);
            positionBytes += n;
        }
        checkSizeAfterWrite("write", offsetBytes, totalBytes);
    }

    /** fdatasync: data and the metadata needed to read it back, not timestamps. */
    @Override
    public final void flush() throws IOException {
        ensureOpen();
        while (true) {
            FileChannel ch = channel;
            try {
                inChannel.incrementAndGet();
                try {
                    ch.force(false);
                } finally {
                    inChannel.decrementAndGet();
                }
                return;
            } catch (ClosedChannelException e) {
                recoverChannel(ch, e, "flush", 0);
            } catch (IOException e) {
                // ENOSPC here is writeback of earlier writes that found no space (NFS, delayed allocation).
                throw failure(e, "flush", 0, -1);
            }
        }
    }

    /**
     * Throws {@link DeviceGoneException} when the device is no longer what was opened: its size
     * differs from {@link #sizeBytes()}, its path no longer exists, or the path names another file
     * (another inode, or for a block device node another device number) than the open descriptor.
     * Cheap (two stat calls and a size query); meant for a watchdog about once a second.
     */
    @Override
    public final void checkIdentity() throws IOException {
        LibC.Stat ours;
        long nowBytes;
        fdGuard.readLock().lock();
        try {
            ensureOpen();
            try {
                nowBytes = currentSizeBytes(fd);
                ours = LibC.fstat(fd, path);
            } catch (IOException e) {
                throw DeviceErrors.classify(e, path.toString(), "size query");
            }
        } finally {
            fdGuard.readLock().unlock();
        }
        if (nowBytes != sizeBytes()) {
            throw sizeChanged(nowBytes, null, null);
        }
        LibC.Stat named;
        try {
            named = LibC.stat(path);
        } catch (LibC.ErrnoException e) {
            if (e.errno() == LibC.ENOENT || e.errno() == LibC.ENOTDIR) {
                throw new DeviceGoneException(
                        path + " no longer exists (deleted or renamed away) while raidd has it open", e);
            }
            throw e;
        }
        if (!sameFile(ours, named)) {
            throw new DeviceGoneException(path + " now names another " + (ours.isBlockDevice() ? "device" : "file")
                    + " (" + identity(named) + ") than the one raidd has open (" + identity(ours) + ")");
        }
    }

    /** How long close waits for calls on the libc descriptor to finish (a hung disk may hold one for good). */
    private static final long CLOSE_WAIT_MS = 2000;

    @Override
    public final void close() throws IOException {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(CLOSE_WAIT_MS);
        while (inChannel.get() > 0 && System.nanoTime() - deadline < 0) {
            java.util.concurrent.locks.LockSupport.parkNanos(1_000_000);
        }
        boolean locked = false;
        if (inChannel.get() == 0) {
            try {
                locked = fdGuard.writeLock()
                        .tryLock(Math.max(0, deadline - System.nanoTime()), java.util.concurrent.TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (!locked) {
            // Calls are stuck in the kernel on this device (a hung disk or FUSE server): closing a
            // channel waits for the threads inside it, and closing the descriptor under a call is
            // not allowed (a reused number could let it hit another file). Both stay open; the
            // process exiting closes them. New calls are refused already.
            System.getLogger("io.raidd.blockdev")
                    .log(System.Logger.Level.WARNING, "{0}: calls are still stuck in it; leaving it open", path);
            return;
        }
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

    /**
     * The size of the open file or device now, in bytes. Called with the descriptor guaranteed
     * open; on every guarded write, so it must be one cheap system call.
     */
    abstract long currentSizeBytes(int fd) throws IOException;

    /**
     * Whether writes check the size before and after ({@link #refuseIfShrunk}, {@link
     * #checkSizeAfterWrite}). A regular file is extended by a write past its end, so one truncated
     * under us would grow back with holes that read as zeroes; a block device cannot be extended (a
     * write past its end fails with ENOSPC, a read meets end of file), so it needs no check.
     */
    abstract boolean guardsSize();

    final void writeFully(long offsetBytes, ByteBuffer src) throws IOException {
        ensureOpen();
        long lengthBytes = src.remaining();
        refuseIfShrunk("write", offsetBytes, lengthBytes);
        writeUnguarded(offsetBytes, src);
        checkSizeAfterWrite("write", offsetBytes, lengthBytes);
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

    /**
     * Refuses, before any byte is written, to write to a file that is shorter than at open: the
     * write would extend it, and the bytes between the new end and the write would read as zeroes.
     * One {@code lseek(SEEK_END)} on the libc descriptor (MemberSizeCheckBenchmark, bench/README.md).
     *
     * <p>What remains: the check and the write are not atomic. A truncation that lands between them
     * (the write's own duration plus a few hundred nanoseconds) lets the write extend the file.
     * {@link #checkSizeAfterWrite} catches that for writes of {@link #AFTER_CHECK_MIN_BYTES} and
     * more; for shorter writes the watchdog's {@link #checkIdentity} does, about a second later,
     * since the file is then longer or shorter than at open. Neither can tell when the racing write
     * ends exactly at the device's end: the file is back at its old size, with a hole where the
     * truncated bytes were, and only the integrity tags of the blocks in that hole can tell. Nothing
     * short of a lock the truncating program honours closes that window.
     */
    final void refuseIfShrunk(String operation, long offsetBytes, long lengthBytes) throws IOException {
        if (!guardsSize()) {
            return;
        }
        long nowBytes = currentSizeBytes();
        if (nowBytes < sizeBytes()) {
            throw sizeChanged(
                    nowBytes, describe(operation, offsetBytes, lengthBytes) + " refused, nothing written", null);
        }
    }

    /**
     * After a write of {@link #AFTER_CHECK_MIN_BYTES} or more: a size that differs from the size at
     * open means the file was truncated (or extended) by someone else, possibly while we wrote, in
     * which case our write may have extended it again with a hole before it. The member is no longer
     * trustworthy, whatever our write did.
     */
    final void checkSizeAfterWrite(String operation, long offsetBytes, long lengthBytes) throws IOException {
        if (!guardsSize() || lengthBytes < AFTER_CHECK_MIN_BYTES) {
            return;
        }
        long nowBytes = currentSizeBytes();
        if (nowBytes != sizeBytes()) {
            throw sizeChanged(
                    nowBytes,
                    describe(operation, offsetBytes, lengthBytes) + " may have landed in a truncated file",
                    null);
        }
    }

    /**
     * {@code e} from an operation, as the failure it really is: {@link DeviceGoneException} when its
     * errno says the device vanished or the device is now shorter than at open (a block device
     * answers writes past its new end with ENOSPC, which is not a full file system), {@link
     * NoSpaceException} for ENOSPC/EDQUOT/EFBIG, otherwise {@code e} itself.
     */
    final IOException failure(IOException e, String operation, long offsetBytes, long lengthBytes) {
        if (DeviceErrors.kindOf(e) != DeviceErrors.Kind.GONE) {
            try {
                long nowBytes = currentSizeBytes();
                if (nowBytes < sizeBytes()) {
                    return sizeChanged(
                            nowBytes,
                            describe(operation, offsetBytes, lengthBytes) + " failed (" + e.getMessage() + ")",
                            e);
                }
            } catch (IOException sizeUnknown) {
                e.addSuppressed(sizeUnknown);
            }
        }
        return DeviceErrors.classify(e, path.toString(), describe(operation, offsetBytes, lengthBytes));
    }

    /** "write of 4096 bytes at offset 8192 on /srv/d3.img"; a negative length means the whole device. */
    final String describe(String operation, long offsetBytes, long lengthBytes) {
        if (lengthBytes < 0) {
            return operation + " on " + path;
        }
        return operation + " of " + lengthBytes + " bytes at offset " + offsetBytes + " on " + path;
    }

    /**
     * Reads the whole range through the channel and returns true, or returns false with {@code
     * dst}'s position unchanged when the file ends early (it shrank) or the channel was closed under
     * the call (the blocking path recovers it). Errors are thrown.
     */
    final boolean readFullyOrFalse(long offsetBytes, ByteBuffer dst) throws IOException {
        int base = dst.position();
        long positionBytes = offsetBytes;
        FileChannel ch = channel;
        inChannel.incrementAndGet();
        try {
            while (dst.hasRemaining()) {
                int n = ch.read(dst, positionBytes);
                if (n < 0) {
                    dst.position(base);
                    return false;
                }
                positionBytes += n;
            }
            return true;
        } catch (ClosedChannelException e) {
            dst.position(base);
            return false;
        } finally {
            inChannel.decrementAndGet();
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

    /** The size now, through the guarded descriptor. */
    final long currentSizeBytes() throws IOException {
        fdGuard.readLock().lock();
        try {
            ensureOpen();
            return currentSizeBytes(fd);
        } finally {
            fdGuard.readLock().unlock();
        }
    }

    /** A fresh channel on the open file behind {@code fd}, whatever its path names now. */
    static FileChannel openThroughDescriptor(int fd, boolean readOnly) throws IOException {
        Path self = Path.of("/proc/self/fd/" + fd);
        return readOnly
                ? FileChannel.open(self, StandardOpenOption.READ)
                : FileChannel.open(self, StandardOpenOption.READ, StandardOpenOption.WRITE);
    }

    // ------------------------------------------------------------------------------------ private

    private void writeUnguarded(long offsetBytes, ByteBuffer src) throws IOException {
        long positionBytes = offsetBytes;
        while (src.hasRemaining()) {
            FileChannel ch = channel;
            try {
                inChannel.incrementAndGet();
                try {
                    positionBytes += ch.write(src, positionBytes);
                } finally {
                    inChannel.decrementAndGet();
                }
            } catch (ClosedChannelException e) {
                recoverChannel(ch, e, "write", positionBytes);
            } catch (IOException e) {
                throw failure(e, "write", positionBytes, src.remaining());
            }
        }
    }

    /** The device's size changed from {@link #sizeBytes()} to {@code nowBytes}; {@code context} may be null. */
    private DeviceGoneException sizeChanged(long nowBytes, String context, Throwable cause) {
        String what = nowBytes < sizeBytes()
                ? " shrank from " + sizeBytes() + " to " + nowBytes + " bytes under raidd"
                : nowBytes > sizeBytes()
                        ? " grew from " + sizeBytes() + " to " + nowBytes + " bytes under raidd"
                        : " was truncated under raidd (its size is back to " + nowBytes + " bytes)";
        return new DeviceGoneException(path + what + (context == null ? "" : ": " + context), cause);
    }

    /** A read met end of file before {@link #sizeBytes()}. */
    private DeviceGoneException shrunk(String context) {
        long nowBytes;
        try {
            nowBytes = currentSizeBytes();
        } catch (IOException e) {
            DeviceGoneException gone = new DeviceGoneException(path + " shrank under raidd: " + context);
            gone.addSuppressed(e);
            return gone;
        }
        return sizeChanged(nowBytes, context, null);
    }

    private static boolean sameFile(LibC.Stat ours, LibC.Stat named) {
        if (ours.isBlockDevice()) {
            return named.isBlockDevice() && named.rdev() == ours.rdev();
        }
        return named.dev() == ours.dev() && named.ino() == ours.ino();
    }

    private static String identity(LibC.Stat stat) {
        if (stat.isBlockDevice()) {
            // glibc's dev_t encoding (gnu_dev_major, gnu_dev_minor).
            long rdev = stat.rdev();
            long major = ((rdev >>> 8) & 0xfffL) | ((rdev >>> 32) & 0xfffff000L);
            long minor = (rdev & 0xffL) | ((rdev >>> 12) & 0xffffff00L);
            return "block device " + major + ":" + minor;
        }
        return "inode " + stat.ino() + " on device 0x" + Long.toHexString(stat.dev());
    }

    /**
     * Called when {@code failed} turned out closed. Reopens it unless the device itself was closed;
     * rethrows when this thread's own interrupt closed it, so the caller's loop retries otherwise.
     * Reopens through the libc descriptor, so the new channel is the same open file even when the
     * path has been renamed away or now names another file.
     */
    private void recoverChannel(FileChannel failed, ClosedChannelException cause, String operation, long offsetBytes)
            throws IOException {
        fdGuard.readLock().lock();
        try {
            synchronized (reopenLock) {
                ensureOpen();
                if (channel == failed) {
                    channel = openThroughDescriptor(fd, readOnly);
                }
            }
        } finally {
            fdGuard.readLock().unlock();
        }
        if (cause instanceof ClosedByInterruptException) {
            InterruptedIOException e = new InterruptedIOException(
                    operation + " on " + path + " at offset " + offsetBytes + " interrupted; channel reopened");
            e.initCause(cause);
            throw e;
        }
    }
}
