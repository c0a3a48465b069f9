package io.raidd.raid.volume;

import java.io.IOException;

/**
 * Stripe-level access to a volume for background work: resync, rebuild and the scrubber walk the
 * volume stripe by stripe through this interface and never touch member I/O themselves.
 *
 * <p>A stripe is the unit redundancy is kept over: for RAID-4/5/6 the row of chunks at one chunk
 * index of every member (positions are member slots: data chunks, P, Q); for RAID-1/10 one volume
 * chunk and its copies (positions are copies, each on its own member). RAID-0 has none.
 *
 * <p>Everything but {@link #stripeCount} and {@link #lock} must be called with the stripe's lock
 * held, so foreground writes cannot interleave with what the caller reads and writes back.
 */
public interface StripeAccess {

    /** Stripes the volume is walked in. */
    long stripeCount();

    /** Locks a stripe against foreground I/O and other background work until closed. */
    StripeLock lock(long stripe);

    /**
     * Reads the whole stripe from every position whose member is readable for it; positions that
     * are not readable, or fail to read, are marked {@link LoadedStripe#unreadable}. Nothing is
     * regenerated and no member is failed for a read error (a timeout still fails it).
     */
    LoadedStripe load(long stripe) throws IOException;

    /**
     * Recomputes the blocks of the unreadable positions from the readable ones (data from
     * redundancy, parity from data, a copy from a readable copy).
     *
     * @throws IOException when more positions are unreadable than the level can recompute
     */
    void regenerate(LoadedStripe stripe) throws IOException;

    /**
     * Makes a loaded stripe's blocks what its members should hold and returns the positions whose
     * members must be rewritten for that (their blocks now hold the right bytes). RAID-4/5/6:
     * positions that failed to read although readable are regenerated (md's read-error correction);
     * otherwise P and Q are recomputed from the data and returned where they differ; a degraded
     * stripe has nothing to compare against and returns nothing. Mirrors: every writable copy that
     * could not be read or differs from the first readable copy takes that copy's bytes. Empty when
     * consistent.
     */
    int[] reconcile(LoadedStripe stripe) throws IOException;

    /**
     * Writes one position's block of a loaded stripe to every member that must hold it (the slot's
     * member, and its replacement during a hot replace). A member whose write fails is failed.
     * Returns how many member writes succeeded.
     */
    int rewrite(LoadedStripe stripe, int position) throws IOException;

    /** A stripe lock; closing it twice is harmless. */
    interface StripeLock extends AutoCloseable {
        @Override
        void close();
    }
}
