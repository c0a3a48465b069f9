package io.raidd.raid.agent;

import java.io.IOException;

/**
 * Background work on one volume, done in bounded steps by an {@link AgentRunner}: the runner
 * decides when the next step runs (rate limits, foreground back-off, pause), the agent only what a
 * step does. A step must be short (a few stripes), so that stopping, pausing and throttling take
 * effect quickly.
 *
 * <p>Two kinds: sync actions (resync, rebuild, scrub) run one at a time per volume, paced by the
 * runner's rate limits, and report progress in bytes; periodic agents ({@link #periodNanos} above
 * zero: safe mode, bitmap flush) run alongside whenever their period has passed.
 */
public interface Agent {

    /** What status output calls it: {@code resync}, {@code rebuild}, {@code safe-mode}, ... */
    String action();

    /**
     * Does one bounded step and returns how many bytes of progress it made (what rate limits and
     * progress count; 0 when it had nothing to do this time).
     */
    long doWork() throws IOException;

    /** True once there is nothing left to do; the runner then drops the agent. */
    boolean done();

    /** Progress so far, in the agent's own bytes (for a rebuild, bytes of the new members). */
    default long doneBytes() {
        return 0;
    }

    /** Bytes the whole action covers; 0 when unknown. */
    default long totalBytes() {
        return 0;
    }

    /** Above zero: a periodic agent, run every this many nanoseconds and never rate limited. */
    default long periodNanos() {
        return 0;
    }

    /**
     * Called once when the runner gives up on the agent before it is done: a step threw (the cause),
     * or the runner closed (null).
     */
    default void stopped(Throwable cause) {}
}
