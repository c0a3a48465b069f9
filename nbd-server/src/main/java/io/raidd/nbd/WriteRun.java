package io.raidd.nbd;

import java.util.ArrayList;
import java.util.List;

/**
 * Adjacent WRITE requests of one connection that wait for an I/O thread together and reach the
 * device as one write ({@link io.raidd.blockdev.BlockDevice#writeGathered}), each still answered on
 * its own. The Linux block layer merges adjacent requests the same way; here it lets a RAID-5/6
 * volume turn half-stripe requests into full-stripe writes that read nothing.
 *
 * <p>Runs are cut at multiples of the device's {@link
 * io.raidd.blockdev.BlockDevice#optimalWriteBytes optimal write size} W (a full stripe): a run
 * takes the next adjacent request only while its end is not on such a boundary, and stops growing
 * at {@link #MAX_WINDOWS} × W. So 1 MiB requests on 2 MiB stripes pair up stripe by stripe, and
 * 128 KiB requests on 192 KiB stripes (three data disks) join in threes, ending where stripes end
 * instead of straddling them. Only plain writes join (no FUA: those are few, and a durable write
 * of a whole run would make every request in it wait for the sync).
 *
 * <p>A run takes requests only while it waits: once an I/O thread {@link #start starts} it, it is
 * closed. The connection may hold back a run that is not {@link #complete} while it has other
 * requests in flight, until the next request shows whether it continues the run (see {@link
 * NbdTransmissionHandler}): a sequential writer's next request is the rest of the stripe, and a
 * held request costs nothing while the others keep the device busy.
 *
 * <p>{@link #tryAppend} is called on the connection's event loop, {@link #start} on an I/O thread.
 */
final class WriteRun {
    /** The longest run, in optimal writes: bounds how many requests wait for one device write. */
    static final int MAX_WINDOWS = 4;

    private final List<NbdRequest> requests = new ArrayList<>(4);
    private final long startBytes;
    private final long windowBytes;
    private long endBytes;
    private boolean started;

    private WriteRun(NbdRequest first, long windowBytes) {
        this.requests.add(first);
        this.startBytes = first.offsetBytes;
        this.endBytes = first.offsetBytes + first.lengthBytes;
        this.windowBytes = windowBytes;
    }

    /**
     * A run starting with {@code r}, or null when {@code r} is not a request runs take: the device
     * has no optimal write size, or {@code r} is not a plain, checked WRITE with data.
     */
    static WriteRun startingWith(NbdRequest r, int optimalWriteBytes) {
        if (!joinable(r) || optimalWriteBytes <= 0) {
            return null;
        }
        return new WriteRun(r, optimalWriteBytes);
    }

    private static boolean joinable(NbdRequest r) {
        return r.type == RequestDescriptor.CMD_WRITE && r.flags == 0 && r.lengthBytes > 0 && r.payload() != null;
    }

    /** Adds {@code r} when the run still waits, is not complete, and {@code r} continues it. */
    synchronized boolean tryAppend(NbdRequest r) {
        if (started
                || !joinable(r)
                || r.offsetBytes != endBytes
                || endBytes % windowBytes == 0
                || endBytes + r.lengthBytes - startBytes > MAX_WINDOWS * windowBytes) {
            return false;
        }
        requests.add(r);
        endBytes += r.lengthBytes;
        return true;
    }

    /** True once the run ends on a multiple of the optimal write size, or is as long as runs get. */
    synchronized boolean complete() {
        return endBytes % windowBytes == 0 || endBytes - startBytes >= MAX_WINDOWS * windowBytes;
    }

    synchronized int size() {
        return requests.size();
    }

    /** Closes the run to new requests and returns its requests in offset order. */
    synchronized List<NbdRequest> start() {
        started = true;
        return requests;
    }
}
