package io.raidd.blockdev;

/**
 * A call of one or more of a device's blocking methods whose outcome may be delivered by another
 * thread than the caller's: see {@link BlockDevice#runRescuable}.
 *
 * @param <T> what a run produces (an NBD reply, for the server)
 */
public interface RescuableCall<T> {

    /**
     * Does the work. It may run twice: the second time on another thread, after the device gave up
     * on the first (its thread stuck in a hung disk), so it must take fresh views of its buffers
     * each time and must not assume it runs on the caller's thread.
     */
    T run() throws Exception;

    /** The outcome of the run that counts; called exactly once, possibly on another thread. */
    void done(T value, Throwable failure);

    /** What a run whose outcome did not count produced (to release what it holds). */
    default void discard(T value) {}
}
