package io.raidd.nbd;

import java.util.ArrayList;
import java.util.List;

/**
 * Adjacent WRITE requests of one connection that wait for an I/O thread together and reach the
 * device as one write ({@link io.raidd.blockdev.BlockDevice#writeGathered}), each still answered on
 * its own. The Linux block layer merges adjacent requests the same way; here it lets a RAID-5/6
 * volume turn two half-stripe requests into one full-stripe write that reads nothing.
 *
 * <p>A run takes requests only while it waits: once an I/O thread {@link #start starts} it, it is
 * closed. A run that does not fill its window yet is held back while the connection has other
 * requests in flight, until the next request shows whether it continues the run (see {@link
 * NbdTransmissionHandler#unplug}): a sequential writer's next request is the other half of the
 * stripe, and a held request costs nothing while the others keep the device busy. A run stays inside one window of the device's {@link
 * io.raidd.blockdev.BlockDevice#optimalWriteBytes optimal write size}, aligned to it, so runs end
 * where full stripes end instead of straddling them. Only plain writes join (no FUA: those are
 * few, and a durable write of a whole run would make every request in it wait for the sync).
 *
 * <p>{@link #tryAppend} is called on the connection's event loop, {@link #start} on an I/O thread.
 */
final class WriteRun {
    private final List<NbdRequest> requests = new ArrayList<>(4);
    private final long windowEndBytes;
    private long endBytes;
    private boolean started;

    private WriteRun(NbdRequest first, long windowEndBytes) {
        this.requests.add(first);
        this.endBytes = first.offsetBytes + first.lengthBytes;
        this.windowEndBytes = windowEndBytes;
    }

    /**
     * A run starting with {@code r}, or null when {@code r} is not a request runs take: the device
     * has no optimal write size, or {@code r} is not a plain, checked WRITE with data.
     */
    static WriteRun startingWith(NbdRequest r, int optimalWriteBytes) {
        if (!joinable(r) || optimalWriteBytes <= 0) {
            return null;
        }
        long windowStart = r.offsetBytes - r.offsetBytes % optimalWriteBytes;
        return new WriteRun(r, windowStart + optimalWriteBytes);
    }

    private static boolean joinable(NbdRequest r) {
        return r.type == RequestDescriptor.CMD_WRITE && r.flags == 0 && r.lengthBytes > 0 && r.payload() != null;
    }

    /** Adds {@code r} when the run still waits and {@code r} continues it inside its window. */
    synchronized boolean tryAppend(NbdRequest r) {
        if (started || !joinable(r) || r.offsetBytes != endBytes || r.lengthBytes > windowEndBytes - endBytes) {
            return false;
        }
        requests.add(r);
        endBytes += r.lengthBytes;
        return true;
    }

    /** True once the run reaches the end of its window: nothing more can join. */
    synchronized boolean fillsItsWindow() {
        return endBytes >= windowEndBytes;
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
