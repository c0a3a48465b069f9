package io.raidd.blockdev;

import java.io.IOException;
import java.nio.file.Path;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;
import jnr.ffi.annotations.SaveError;
import jnr.ffi.types.off_t;

/**
 * The few libc calls that {@link java.nio.channels.FileChannel} does not offer: hole punching,
 * hole discovery and block-device ioctls. Linux on LP64 (x86-64, aarch64) only; every constant
 * below is the value on those targets, with the header it comes from.
 *
 * <p>The device classes open their own descriptor with {@link #open} next to the JDK's channel
 * instead of reaching into the JDK for its descriptor: both refer to the same inode, so punches
 * and ioctls act on the same data and page cache the channel reads and writes.
 */
final class LibC {
    /** {@code <fcntl.h>} (asm-generic/fcntl.h): open for reading only. */
    static final int O_RDONLY = 0;
    /** {@code <fcntl.h>} (asm-generic/fcntl.h): open for reading and writing. */
    static final int O_RDWR = 2;
    /**
     * {@code <fcntl.h>} (asm-generic/fcntl.h, 0200 octal): with O_CREAT, fail if the file exists; on
     * a block device without O_CREAT, claim it exclusively (EBUSY if mounted or held by md).
     */
    static final int O_EXCL = 0x80;
    /** {@code <fcntl.h>} (asm-generic/fcntl.h, 02000000 octal): do not leak into exec'd children. */
    static final int O_CLOEXEC = 0x80000;

    /** {@code <linux/falloc.h>}: do not change the file size. */
    static final int FALLOC_FL_KEEP_SIZE = 0x01;
    /** {@code <linux/falloc.h>}: deallocate the range; it reads back as zeroes. Needs KEEP_SIZE. */
    static final int FALLOC_FL_PUNCH_HOLE = 0x02;
    /** {@code <linux/falloc.h>}: zero the range, keeping (or allocating) its blocks. */
    static final int FALLOC_FL_ZERO_RANGE = 0x10;

    /** {@code <unistd.h>}: seek relative to the end of the file (the result is the file's size). */
    static final int SEEK_END = 2;
    /** {@code <unistd.h>} (linux/fs.h): seek to the next byte of data at or after the offset. */
    static final int SEEK_DATA = 3;
    /** {@code <unistd.h>} (linux/fs.h): seek to the next hole at or after the offset. */
    static final int SEEK_HOLE = 4;

    /** {@code <linux/fs.h>} _IOR(0x12, 114, size_t): device size in bytes as a u64. */
    static final long BLKGETSIZE64 = 0x80081272L;
    /** {@code <linux/fs.h>} _IO(0x12, 104): logical sector size as an int. */
    static final long BLKSSZGET = 0x1268L;
    /** {@code <linux/fs.h>} _IO(0x12, 119): discard a u64[2] {offset, length} range. */
    static final long BLKDISCARD = 0x1277L;
    /** {@code <linux/fs.h>} _IO(0x12, 127): zero a u64[2] {offset, length} range. */
    static final long BLKZEROOUT = 0x127fL;

    /** {@code <asm-generic/errno-base.h>}: no such file or directory. */
    static final int ENOENT = 2;
    /** {@code <asm-generic/errno-base.h>}: no such device or address (SEEK_DATA past the last data). */
    static final int ENXIO = 6;
    /** {@code <asm-generic/errno-base.h>}: device or resource busy (exclusive open refused). */
    static final int EBUSY = 16;
    /** {@code <asm-generic/errno-base.h>}: no such device (removed under an open descriptor). */
    static final int ENODEV = 19;
    /** {@code <asm-generic/errno-base.h>}: not a directory (a path component is a file now). */
    static final int ENOTDIR = 20;
    /** {@code <asm-generic/errno-base.h>}: invalid argument. */
    static final int EINVAL = 22;
    /** {@code <asm-generic/errno-base.h>}: file too large (past the file system's or RLIMIT_FSIZE limit). */
    static final int EFBIG = 27;
    /** {@code <asm-generic/errno-base.h>}: no space left on device. */
    static final int ENOSPC = 28;
    /** {@code <asm-generic/errno.h>}: stale file handle (NFS: the file was removed on the server). */
    static final int ESTALE = 116;
    /** {@code <asm-generic/errno.h>}: disk quota exceeded. */
    static final int EDQUOT = 122;
    /** {@code <asm-generic/errno.h>}: operation not supported (no hole punching, no discard). */
    static final int EOPNOTSUPP = 95;

    /** {@code <sys/stat.h>}: the file-type bits of st_mode. */
    static final int S_IFMT = 0170000;
    /** {@code <sys/stat.h>}: block device. */
    static final int S_IFBLK = 0060000;

    /**
     * Where {@code struct stat} keeps the fields we read. x86-64 has its own layout ({@code
     * <bits/struct_stat.h>}, 144 bytes: st_nlink is 64-bit and comes before st_mode); aarch64 uses the
     * generic one ({@code <asm-generic/stat.h>}, 128 bytes). st_dev, st_ino, st_size and st_blocks sit
     * at the same offsets in both.
     */
    private static final String ARCH = System.getProperty("os.arch");

    private static final boolean X86_64 = ARCH.equals("amd64") || ARCH.equals("x86_64");
    private static final boolean STAT_LAYOUT_KNOWN = X86_64 || ARCH.equals("aarch64");

    private static final int STAT_BUFFER_BYTES = 256;
    private static final int ST_DEV = 0;
    private static final int ST_INO = 8;
    private static final int ST_MODE = X86_64 ? 24 : 16;
    private static final int ST_RDEV = X86_64 ? 40 : 32;
    private static final int ST_SIZE = 48;
    private static final int ST_BLOCKS = 64;

    /**
     * The fields of {@code struct stat} that identify a file and its size.
     *
     * @param blocks allocated 512-byte units ({@code st_blocks}), whatever the file system's block size
     */
    record Stat(long dev, long ino, int mode, long rdev, long sizeBytes, long blocks) {
        boolean isBlockDevice() {
            return (mode & S_IFMT) == S_IFBLK;
        }

        long allocatedBytes() {
            return blocks * 512;
        }
    }

    /** The raw binding; use the checked wrappers below. */
    public interface Native {
        @SaveError
        int open(String path, int flags);

        @SaveError
        int close(int fd);

        @SaveError
        int fallocate(int fd, int mode, @off_t long offset, @off_t long length);

        @SaveError
        @off_t
        long lseek(int fd, @off_t long offset, int whence);

        /** glibc exports stat and fstat as functions since 2.33 (before, only {@code __xstat}). */
        @SaveError
        int stat(String path, Pointer buf);

        @SaveError
        int fstat(int fd, Pointer buf);

        /** ioctl is variadic; integer and pointer arguments are passed as for a fixed signature on LP64. */
        @SaveError
        int ioctl(int fd, long request, Pointer arg);

        /** Since glibc 2.26; {@link #RWF_NOWAIT} since Linux 4.14 (for buffered reads). */
        @SaveError
        long preadv2(int fd, Pointer iov, int iovcnt, @off_t long offset, int flags);

        @SaveError
        int fstatfs(int fd, Pointer buf);

        String strerror(int errno);
    }

    /** A failed libc call, keeping errno so callers can fall back on {@link #EOPNOTSUPP} and the like. */
    static final class ErrnoException extends IOException {
        private static final long serialVersionUID = 1L;
        private final int errno;

        ErrnoException(String message, int errno) {
            super(message);
            this.errno = errno;
        }

        int errno() {
            return errno;
        }
    }

    private static final class Holder {
        static final Native NATIVE = LibraryLoader.create(Native.class).load("c");
        static final Runtime RUNTIME = Runtime.getRuntime(NATIVE);
    }

    private LibC() {}

    static int open(Path path, int flags) throws IOException {
        int fd = Holder.NATIVE.open(path.toString(), flags);
        if (fd < 0) {
            throw error("open", path, lastErrno());
        }
        return fd;
    }

    static void close(int fd, Path path) throws IOException {
        if (Holder.NATIVE.close(fd) != 0) {
            throw error("close", path, lastErrno());
        }
    }

    static void fallocate(int fd, Path path, int mode, long offsetBytes, long lengthBytes) throws IOException {
        if (Holder.NATIVE.fallocate(fd, mode, offsetBytes, lengthBytes) != 0) {
            throw error(
                    "fallocate(mode=0x" + Integer.toHexString(mode) + ", " + offsetBytes + ", " + lengthBytes + ")",
                    path,
                    lastErrno());
        }
    }

    /** lseek that returns {@code -errno} instead of throwing, because ENXIO is an answer, not an error. */
    static long lseekOrNegativeErrno(int fd, long offsetBytes, int whence) {
        long result = Holder.NATIVE.lseek(fd, offsetBytes, whence);
        return result < 0 ? -lastErrno() : result;
    }

    /**
     * The size of the open file (or block device) in bytes, {@code lseek(fd, 0, SEEK_END)}, or
     * {@code -errno}: one cheap system call without a struct. It moves the descriptor's offset,
     * which nothing else uses (all I/O is positional, {@link #SEEK_DATA} callers pass offsets).
     */
    static long sizeOrNegativeErrno(int fd) {
        return lseekOrNegativeErrno(fd, 0, SEEK_END);
    }

    /** preadv2 flag: fail with EAGAIN instead of waiting for the data to be read from the disk. */
    static final int RWF_NOWAIT = 0x08;

    static final int EAGAIN = 11;

    /** {@code struct statfs} is 120 bytes on x86-64 and aarch64; {@code f_type} is its first word. */
    private static final int STATFS_BUFFER_BYTES = 256;

    /** The file system type ({@code f_type} of {@code fstatfs(2)}, a magic number such as 0xef53 for ext4). */
    static long fileSystemType(int fd, Path path) throws IOException {
        Pointer buf = Memory.allocateDirect(Holder.RUNTIME, STATFS_BUFFER_BYTES);
        if (Holder.NATIVE.fstatfs(fd, buf) != 0) {
            throw error("fstatfs", path, lastErrno());
        }
        return buf.getLong(0);
    }

    private static final ThreadLocal<Pointer> IOVEC =
            ThreadLocal.withInitial(() -> Memory.allocateDirect(Holder.RUNTIME, 16));

    /**
     * {@code preadv2(fd, {dst}, 1, offset, RWF_NOWAIT)} into a direct buffer, from its position:
     * the bytes read (position not moved), or {@code -errno} (EAGAIN: not all in memory).
     */
    static long preadNoWaitOrNegativeErrno(int fd, long offsetBytes, java.nio.ByteBuffer dst) {
        Pointer iov = IOVEC.get();
        iov.putAddress(0, Pointer.wrap(Holder.RUNTIME, dst).address());
        iov.putLong(8, dst.remaining());
        long n = Holder.NATIVE.preadv2(fd, iov, 1, offsetBytes, RWF_NOWAIT);
        return n < 0 ? -lastErrno() : n;
    }

    static Stat fstat(int fd, Path path) throws IOException {
        checkStatLayout();
        Pointer buf = Memory.allocateDirect(Holder.RUNTIME, STAT_BUFFER_BYTES);
        if (Holder.NATIVE.fstat(fd, buf) != 0) {
            throw error("fstat", path, lastErrno());
        }
        return stat(buf);
    }

    /** {@code stat(2)}, following symbolic links; ENOENT comes back as an {@link ErrnoException}. */
    static Stat stat(Path path) throws IOException {
        checkStatLayout();
        Pointer buf = Memory.allocateDirect(Holder.RUNTIME, STAT_BUFFER_BYTES);
        if (Holder.NATIVE.stat(path.toString(), buf) != 0) {
            throw error("stat", path, lastErrno());
        }
        return stat(buf);
    }

    private static void checkStatLayout() throws IOException {
        if (!STAT_LAYOUT_KNOWN) {
            throw new IOException("struct stat layout unknown on " + ARCH + " (x86-64 and aarch64 only)");
        }
    }

    private static Stat stat(Pointer buf) {
        return new Stat(
                buf.getLong(ST_DEV),
                buf.getLong(ST_INO),
                buf.getInt(ST_MODE),
                buf.getLong(ST_RDEV),
                buf.getLong(ST_SIZE),
                buf.getLong(ST_BLOCKS));
    }

    static long ioctlGetU64(int fd, Path path, long request, String name) throws IOException {
        Pointer arg = Memory.allocateDirect(Holder.RUNTIME, Long.BYTES);
        if (Holder.NATIVE.ioctl(fd, request, arg) != 0) {
            throw error("ioctl(" + name + ")", path, lastErrno());
        }
        return arg.getLong(0);
    }

    static int ioctlGetInt(int fd, Path path, long request, String name) throws IOException {
        Pointer arg = Memory.allocateDirect(Holder.RUNTIME, Integer.BYTES);
        if (Holder.NATIVE.ioctl(fd, request, arg) != 0) {
            throw error("ioctl(" + name + ")", path, lastErrno());
        }
        return arg.getInt(0);
    }

    /** For BLKDISCARD and BLKZEROOUT, whose argument is {@code uint64_t range[2] = {offset, length}}. */
    static void ioctlRange(int fd, Path path, long request, String name, long offsetBytes, long lengthBytes)
            throws IOException {
        Pointer arg = Memory.allocateDirect(Holder.RUNTIME, 2 * Long.BYTES);
        arg.putLong(0, offsetBytes);
        arg.putLong(Long.BYTES, lengthBytes);
        if (Holder.NATIVE.ioctl(fd, request, arg) != 0) {
            throw error("ioctl(" + name + ", " + offsetBytes + ", " + lengthBytes + ")", path, lastErrno());
        }
    }

    static String strerror(int errno) {
        String text = Holder.NATIVE.strerror(errno);
        return text == null ? "errno " + errno : text;
    }

    static ErrnoException error(String call, Path path, int errno) {
        return new ErrnoException(
                call + " failed on " + path + ": " + strerror(errno) + " (errno " + errno + ")", errno);
    }

    private static int lastErrno() {
        return Holder.RUNTIME.getLastError();
    }
}
