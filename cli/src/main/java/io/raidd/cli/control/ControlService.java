package io.raidd.cli.control;

import io.raidd.raid.event.ArrayEvent;
import java.util.List;
import java.util.function.Consumer;

/**
 * What a running daemon offers through its control socket: the one seam between the socket
 * protocol ({@link ControlServer}, raidctl) and the arrays. The daemon implements it over its
 * volumes; protocol tests use a fake.
 *
 * <p>Every changing call either makes the whole change and returns a one-line description of what
 * it did, or changes nothing and throws {@link ControlException} with a one-line reason an operator
 * can act on. {@code volume} is an export name; {@code member} is a member's path as given to the
 * daemon or as shown by status, or a slot number.
 */
public interface ControlService {

    /** Status of one volume, or of every volume when {@code volume} is null. */
    List<VolumeStatus> status(String volume) throws ControlException;

    /** Fails a member as an I/O error would; refused when it would lose data. */
    String fail(String volume, String member) throws ControlException;

    /** Takes a spare, faulty or missing member out of the volume; refused for one that holds data. */
    String remove(String volume, String member) throws ControlException;

    /**
     * Adds an image file (created sparse at the members' size when it does not exist) or a block
     * device: a spare, or rebuilding at once when the volume is degraded. Returns once the change
     * is durable and any rebuild has started.
     */
    String add(String volume, String path) throws ControlException;

    /** Hot replace: {@code newPath} is rebuilt while {@code oldMember} keeps serving, then retires it. */
    String replace(String volume, String oldMember, String newPath) throws ControlException;

    /**
     * Changes the rate limits of the volume's rebuilds and resyncs, running or not; null leaves a
     * limit as it is. Bytes per second; {@link Long#MAX_VALUE} is unlimited.
     */
    String rebuildLimits(String volume, Long minBytesPerSecond, Long maxBytesPerSecond) throws ControlException;

    /**
     * Blocks until the volume has no rebuild or resync running or pending, calling {@code progress}
     * with the volume's status about every {@code intervalMillis} meanwhile; returns the status at
     * the end (healthy when its state is {@code clean}).
     */
    VolumeStatus await(String volume, long intervalMillis, Consumer<VolumeStatus> progress)
            throws ControlException, InterruptedException;

    /**
     * Receives every event from now on until the returned handle is closed. The listener must not
     * block; events a slow listener cannot take are dropped for it (the daemon logs that).
     */
    AutoCloseable subscribe(Consumer<ArrayEvent> listener);

    /**
     * A scrub request: {@code start} (repair or check), {@code pause}, {@code resume} or {@code
     * status}; returns what was done and the scrub's status (the running one, else the last).
     */
    default ScrubReply scrub(String volume, String action, boolean repair) throws ControlException {
        throw new ControlException("this raidd does not scrub");
    }

    /** What a scrub request did, and the scrub's status after it. */
    record ScrubReply(String message, io.raidd.scrubber.ScrubStatus status) {}

    /** Fault injection on a live member (failure drills); refused unless the daemon allows it. */
    String inject(String volume, String member, FaultSpec fault) throws ControlException;

    /**
     * One injected fault.
     *
     * @param kind {@code fail}, {@code eio-read}, {@code eio-write}, {@code hang}, {@code slow},
     *     {@code flip-bits} or {@code clear}
     * @param offsetBytes start of the range in the member's data area (eio-read, eio-write); 0 with
     *     {@code lengthBytes} 0 means the whole member
     * @param lengthBytes length of the range
     * @param millis added latency per I/O ({@code slow})
     * @param count bits to flip ({@code flip-bits}), each in a random 4 KiB block of the data area
     */
    record FaultSpec(String kind, long offsetBytes, long lengthBytes, long millis, int count) {}
}
