package io.raidd.raid.volume;

import io.raidd.raid.member.Member;
import io.raidd.raid.member.MemberLifecycle;
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
     * Locks several stripes at once (in an order that cannot deadlock with other holders), for work
     * that covers a run of stripes in one step.
     */
    StripeLock lockAll(long[] stripes);

    /**
     * Returns once every stripe lock held at the time of the call has been released: every stripe
     * operation that decided what to use from an earlier roster has finished. The caller holds no
     * stripe lock.
     */
    void drain();

    /** Bytes each position of a stripe occupies on its member (the chunk size). */
    int chunkBytes();

    /** Chunks of each member's data area the volume uses. */
    long memberChunks();

    /**
     * The stripe whose block member slot {@code slot} holds at member chunk {@code memberChunk}, or
     * -1 when that chunk holds nothing the volume uses. A rebuild walks its member in member order
     * with it.
     */
    long stripeAt(int slot, long memberChunk);

    /** The position in {@code stripe} of the block member slot {@code slot} holds. */
    int positionOf(long stripe, int slot);

    /** The stripe that holds volume byte {@code volumeOffsetBytes}. */
    long stripeOfVolumeOffset(long volumeOffsetBytes);

    /** The volume bytes whose data {@code stripe} holds: {offset, length}. */
    long[] volumeRange(long stripe);

    /**
     * How many member chunks from {@code memberChunk} on (at most {@code maxChunks}) are holes on
     * every member a rebuild of {@code targets} would read, so the targets' chunks there are all
     * zeroes; 0 when the first chunk holds data anywhere, when too few members can be read to know,
     * or when the level does not keep its copies at the same member offsets (RAID-10). Asks the
     * members' allocation; reads no data.
     */
    long holeChunks(long memberChunk, long maxChunks, java.util.Collection<Member> targets) throws IOException;

    /**
     * The first member chunk after {@code memberChunk} that could be a hole on every member a
     * rebuild of {@code targets} reads (no earlier one can be); {@link #memberChunks()} when none
     * can. For levels without hole runs, the next chunk.
     */
    long nextHoleChunk(long memberChunk, java.util.Collection<Member> targets) throws IOException;

    /**
     * Rebuilds the targets' blocks of stripes {@code [first, first + count)} in bulk, with the
     * stripes' locks held by the caller: one read per member for the whole run (large sequential
     * requests, several stripes at once), the blocks regenerated in memory, one write per target.
     * Returns false, having written nothing, when the run cannot be done that way (a member that is
     * neither a target nor readable for the whole run, a read that failed, a level without runs):
     * the caller then goes stripe by stripe.
     */
    default boolean rebuildRun(long first, int count, java.util.Collection<Member> targets) throws IOException {
        return false;
    }

    /** Whether {@link #rebuildRun} can work here: stripe {@code s} is member chunk {@code s} on every member. */
    default boolean rebuildsInRuns() {
        return false;
    }

    /** Writes zeroes to {@code targets} over member chunks {@code [memberChunk, memberChunk + count)}. */
    void zeroChunks(long memberChunk, long count, java.util.Collection<Member> targets) throws IOException;

    /**
     * Reads the whole stripe from every position whose member is readable for it; positions that
     * are not readable, or fail to read, are marked {@link LoadedStripe#unreadable}. Nothing is
     * regenerated and no member is failed for a read error (a timeout still fails it).
     */
    LoadedStripe load(long stripe) throws IOException;

    /**
     * {@link #load(long)}, checking integrity tags as {@code verify} says: {@link
     * Member.Verify#NEVER} returns the bytes as the members hold them, which is what a scrub that
     * checks tags itself wants (a mismatch is then data to classify, not a read error).
     */
    default LoadedStripe load(long stripe, Member.Verify verify) throws IOException {
        return load(stripe);
    }

    /**
     * RAID-4/5/6: the stripe's positions in syndrome order ({@link
     * io.raidd.raid.parity.Raid6Recovery}'s): data 0..k-1, then P, then Q (-1 without Q). Null
     * for levels without parity.
     */
    default int[] syndromePositions(long stripe) {
        return null;
    }

    /** The parity kernel the volume computes P and Q with; null for levels without parity. */
    default io.raidd.raid.parity.ParityKernel kernel() {
        return null;
    }

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
     * Writes one position's block of a loaded stripe to {@code only}, or, when it is null, to every
     * member that must hold it (the slot's member, and its replacement during a hot replace). A
     * member whose write fails is failed. Returns how many member writes succeeded.
     */
    int rewrite(LoadedStripe stripe, int position, Member only) throws IOException;

    /**
     * Writes {@code lengthBytes} of one position's block from {@code fromBytes} on (relative to the
     * position's start) to every member that must hold them, integrity tags recomputed from the
     * bytes: a scrub rewrites only the blocks it proved bad. Returns how many member writes
     * succeeded; a member whose write fails is failed.
     */
    default int rewriteRange(LoadedStripe stripe, int position, int fromBytes, int lengthBytes) throws IOException {
        return stripe.rewriteRange(lifecycleOf(), position, fromBytes, lengthBytes);
    }

    /** The member lifecycle writes report failures to (implementations have one). */
    MemberLifecycle lifecycleOf();

    /** {@link #rewrite(LoadedStripe, int, Member)} to every member that must hold the block. */
    default int rewrite(LoadedStripe stripe, int position) throws IOException {
        return rewrite(stripe, position, null);
    }

    /**
     * Records the integrity tags of a loaded, consistent stripe's blocks on the members that hold
     * them (see {@link LoadedStripe#retag}); the stripe's lock is held.
     */
    default void retag(LoadedStripe stripe) throws IOException {
        stripe.retag();
    }

    /** A stripe lock; closing it twice is harmless. */
    interface StripeLock extends AutoCloseable {
        @Override
        void close();
    }
}
