package io.raidd.blockdev;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * A fixed-size array of bytes with positional I/O: an image file, a raw Linux block device, memory,
 * or a whole RAID volume.
 *
 * <p>Contract:
 *
 * <ul>
 *   <li>Offsets and lengths are in bytes and need not be aligned to {@link
 *       #logicalBlockSizeBytes()}; implementations that need alignment handle it internally.
 *   <li>{@link #read} fills exactly {@code dst.remaining()} bytes and {@link #write} writes exactly
 *       {@code src.remaining()} bytes, advancing the buffer's position; heap and direct buffers are
 *       both accepted. A range that does not lie inside {@code [0, sizeBytes())} is rejected with
 *       {@link IllegalArgumentException} before any I/O.
 *   <li>Every method is safe to call from many threads at once; concurrent operations on
 *       overlapping ranges have no defined order between them.
 *   <li>{@link #flush} returns once every write that completed before the call is durable
 *       (fdatasync semantics).
 *   <li>{@link #discard} is a hint: the range's contents are undefined afterwards until rewritten.
 *       {@link #writeZeroes} guarantees the range reads back as zeroes.
 *   <li>Failures say what kind they are: {@link DeviceGoneException} when the device shrank,
 *       vanished or changed identity under us (fail it, never rewrite it), {@link NoSpaceException}
 *       when a write needed space the file system under the device does not have (the device is
 *       fine), any other IOException for a media or transport error.
 * </ul>
 */
public interface BlockDevice extends AutoCloseable {

    /** Size in bytes; fixed for the life of the object. */
    long sizeBytes();

    /** The smallest unit the device reads and writes natively (512 or 4096). */
    int logicalBlockSizeBytes();

    /** True when writes, discards and write-zeroes are refused. */
    default boolean isReadOnly() {
        return false;
    }

    void read(long offsetBytes, ByteBuffer dst) throws IOException;

    /**
     * Reads like {@link #read}, but only when that cannot wait for a disk (the bytes are in memory):
     * returns true with {@code dst} filled (position advanced), or false with {@code dst}'s position
     * unchanged (its bytes unspecified) when any part would have to wait, or on any failure (the
     * caller then uses {@link #read}, which reports errors). An event loop may call it. The default
     * always answers false.
     */
    default boolean readIfCached(long offsetBytes, ByteBuffer dst) {
        return false;
    }

    void write(long offsetBytes, ByteBuffer src) throws IOException;

    /**
     * Runs {@code call} on the calling thread and delivers its outcome to {@link
     * RescuableCall#done} exactly once. A device whose I/O can hang (a RAID volume with a member
     * that stops answering) may give up on the calling thread, which can then stay blocked in the
     * kernel for as long as the disk hangs, and run the call again on a thread of its own,
     * delivering that outcome instead; this method then returns only when the stuck thread does (if
     * ever), and the first run's value goes to {@link RescuableCall#discard}. The default just runs
     * the call.
     */
    default <T> void runRescuable(RescuableCall<T> call) {
        T value = null;
        Throwable failure = null;
        try {
            value = call.run();
        } catch (Throwable t) {
            failure = t;
        }
        call.done(value, failure);
    }

    /**
     * Writes the buffers' remaining bytes one after the other from {@code offsetBytes}, as one write
     * of their concatenation (each buffer's position advances). Lets a caller that holds adjacent
     * writes in separate buffers, such as consecutive NBD requests, hand them over whole without
     * copying them together first. The default writes each buffer in turn; a device whose cost
     * depends on the size of a write (see {@link #optimalWriteBytes}) does better.
     */
    default void writeGathered(long offsetBytes, List<ByteBuffer> srcs) throws IOException {
        long total = 0;
        for (ByteBuffer src : srcs) {
            total += src.remaining();
        }
        checkRange(offsetBytes, total);
        long pos = offsetBytes;
        for (ByteBuffer src : srcs) {
            int n = src.remaining();
            write(pos, src);
            pos += n;
        }
    }

    /**
     * The write size, and alignment, that costs least per byte, or 0 when the size of a write makes
     * no difference. A RAID-5/6 volume's full stripe (Linux calls it {@code optimal_io_size}): a
     * write that covers whole stripes computes parity from its own bytes, a smaller one must read
     * old data or parity first. Callers that can combine adjacent writes into windows of this size
     * ({@link #writeGathered}) save the device that work.
     */
    default int optimalWriteBytes() {
        return 0;
    }

    /**
     * Writes and returns only once this write is durable ("force unit access"). The default makes the
     * whole device durable; devices that can do less should.
     */
    default void writeDurable(long offsetBytes, ByteBuffer src) throws IOException {
        write(offsetBytes, src);
        flush();
    }

    void flush() throws IOException;

    void discard(long offsetBytes, long lengthBytes) throws IOException;

    void writeZeroes(long offsetBytes, long lengthBytes) throws IOException;

    /**
     * Describes how {@code [offsetBytes, offsetBytes + lengthBytes)} is stored, as consecutive
     * extents starting at {@code offsetBytes}. The default says "allocated data", which is always
     * safe. The result may stop before the end of the range; the caller asks again from there.
     */
    default List<Extent> allocation(long offsetBytes, long lengthBytes) throws IOException {
        checkRange(offsetBytes, lengthBytes);
        if (lengthBytes == 0) {
            return List.of();
        }
        return List.of(new Extent(offsetBytes, lengthBytes, false, false));
    }

    /**
     * Throws {@link DeviceGoneException} when the device is no longer the one that was opened: its
     * size changed, or (for files and device nodes) its path is gone or names another file or device
     * now. Meant for a watchdog that calls it about once a second and fails the member, so that a
     * member changed under raidd is never read from or written to again. The default has nothing to
     * check.
     */
    default void checkIdentity() throws IOException {}

    /**
     * Where the data at {@code offsetBytes} ends: the start of the first hole at or after it
     * ({@code offsetBytes} itself when it lies in a hole; {@link #sizeBytes()} when no hole follows).
     * One question however long the data run, for callers that walk a device looking for holes
     * ({@link #allocation} walks every extent of its range). The default knows no holes.
     */
    default long nextHoleBytes(long offsetBytes) throws IOException {
        checkRange(offsetBytes, 0);
        return sizeBytes();
    }

    @Override
    void close() throws IOException;

    /** Throws {@link IllegalArgumentException} unless the range lies inside the device. */
    default void checkRange(long offsetBytes, long lengthBytes) {
        if (offsetBytes < 0 || lengthBytes < 0 || offsetBytes > sizeBytes() - lengthBytes) {
            throw new IllegalArgumentException(
                    "range [" + offsetBytes + ", +" + lengthBytes + ") outside device of " + sizeBytes() + " bytes");
        }
    }
}
