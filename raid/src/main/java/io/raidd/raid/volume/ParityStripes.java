package io.raidd.raid.volume;

import io.raidd.raid.layout.ParityLayout;
import io.raidd.raid.member.CorruptBlockException;
import io.raidd.raid.member.IoBatch;
import io.raidd.raid.member.Member;
import io.raidd.raid.member.MemberLifecycle;
import io.raidd.raid.member.Scratch;
import io.raidd.raid.parity.BufferParity;
import io.raidd.raid.parity.ParityKernel;
import io.raidd.raid.parity.Raid6Recovery;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;

/**
 * RAID-4/5/6 stripes as units: the geometry every path shares, the per-stripe view, loading a
 * stripe's hull from its readable members, regenerating what could not be read, recomputing parity,
 * and writing blocks back (md's read-error correction). The read path ({@link ParityReads}), the
 * write strategies ({@link ParityWrites}) and background work (through {@link StripeAccess}) all
 * build on it.
 */
final class ParityStripes implements StripeAccess {
    private static final System.Logger LOG = System.getLogger("io.raidd.raid");

    final String arrayName;
    final ParityLayout layout;
    final int chunkBytes;
    final int n;
    final int k;
    final int parityCount;
    final long stripes;
    final MemberLifecycle members;
    final ParityKernel kernel;
    private final Raid6Recovery recovery;
    final StripeLocks locks = new StripeLocks();

    ParityStripes(
            String arrayName,
            ParityLayout layout,
            int chunkBytes,
            long memberUsedBytes,
            MemberLifecycle members,
            ParityKernel kernel) {
        this.arrayName = arrayName;
        this.layout = layout;
        this.chunkBytes = chunkBytes;
        this.n = layout.raidDisks();
        this.k = layout.dataDisks();
        this.parityCount = layout.parityDisks();
        this.stripes = memberUsedBytes / chunkBytes;
        this.members = members;
        this.kernel = kernel;
        this.recovery = new Raid6Recovery(kernel);
    }

    long stripeOf(Piece p) {
        return p.chunk() / k;
    }

    int dataIndexOf(Piece p) {
        return (int) (p.chunk() % k);
    }

    long memberOffset(long stripe, int inChunkBytes) {
        return stripe * chunkBytes + inChunkBytes;
    }

    /** What the stripe's operation may read and write; take it under the stripe's lock. */
    StripeView view(long stripe) {
        return new StripeView(members.roster(), (stripe + 1) * chunkBytes);
    }

    /** Member of the stripe's P or Q, or -1 when the level has none or it cannot be read. */
    int readableParity(StripeView view, int disk) {
        return disk >= 0 && view.readable(disk) ? disk : -1;
    }

    /** Every data member of the stripe is readable (parity members may be gone). */
    boolean dataReadable(StripeView view, long stripe) {
        for (int i = 0; i < k; i++) {
            if (!view.readable(layout.dataDisk(stripe, i))) {
                return false;
            }
        }
        return true;
    }

    void computeParity(byte[][] syn, int len) {
        if (parityCount == 2) {
            kernel.pq(syn, k, syn[k], syn[k + 1], 0, len);
        } else {
            kernel.p(syn, k, syn[k], 0, len);
        }
    }

    /**
     * The stripe in {@link Raid6Recovery}'s order, as views of the per-member blocks: data in
     * syndrome order, then P, then Q (for RAID-4/5 a scratch block nothing reads).
     */
    byte[][] syndromeView(long stripe, byte[][] blocks, int len) {
        byte[][] syn = new byte[k + 2][];
        for (int i = 0; i < k; i++) {
            syn[layout.syndromeIndex(stripe, i)] = blocks[layout.dataDisk(stripe, i)];
        }
        syn[k] = blocks[layout.pDisk(stripe)];
        int qDisk = layout.qDisk(stripe);
        syn[k + 1] = qDisk >= 0 ? blocks[qDisk] : Scratch.get().spareB(len);
        return syn;
    }

    static byte[][] syn(LoadedStripe st) {
        return (byte[][]) st.engineState;
    }

    // ---------------------------------------------------------------------------------- loading

    /**
     * Reads {@code [lo, hi)} of {@code stripe} from every member the view can read except {@code
     * suspect}; members that fail to read are marked unreadable (a timeout also fails the member).
     * Caller holds the stripe lock. Nothing is regenerated.
     */
    LoadedStripe loadHull(long stripe, int lo, int hi, int suspect, StripeView view) throws IOException {
        return loadHull(stripe, lo, hi, suspect, view, Member.Verify.AS_CONFIGURED);
    }

    LoadedStripe loadHull(long stripe, int lo, int hi, int suspect, StripeView view, Member.Verify verify)
            throws IOException {
        int len = hi - lo;
        byte[][] blocks = Scratch.get().blocks(n, len);
        int[] slots = new int[n];
        long[] offsets = new long[n];
        for (int d = 0; d < n; d++) {
            slots[d] = d;
            offsets[d] = memberOffset(stripe, lo);
        }
        LoadedStripe st = new LoadedStripe(stripe, len, blocks, slots, offsets, view);
        st.engineState = syndromeView(stripe, blocks, len);
        boolean[] loaded = new boolean[n];
        for (int d = 0; d < n; d++) {
            st.unreadable[d] = d == suspect || !view.readable(d);
        }
        while (true) {
            IoBatch reads = new IoBatch();
            for (int d = 0; d < n; d++) {
                if (!st.unreadable[d] && !loaded[d]) {
                    view.read(reads, d, offsets[d], ByteBuffer.wrap(blocks[d], 0, len), verify);
                    loaded[d] = true;
                }
            }
            if (reads.isEmpty()) {
                break;
            }
            List<IoBatch.Op> failed = reads.await(members.timeoutNs());
            if (failed.isEmpty()) {
                break;
            }
            members.failMembers(failed);
            for (IoBatch.Op op : failed) {
                int d = op.member.slot();
                st.unreadable[d] = true;
                if (!op.timedOut && op.failure instanceof CorruptBlockException corrupt) {
                    st.corruptRanges[d] = corrupt.rangesWithin(offsets[d], len);
                }
                if (!op.timedOut) {
                    LOG.log(
                            Level.INFO,
                            "array {0}: {1}: {2}; reconstructing",
                            arrayName,
                            op.member.name(),
                            op.describe());
                }
            }
        }
        return st;
    }

    /** Rebuilds the unreadable blocks of a loaded stripe (data, and parity for the repair). */
    void regenerateUnreadable(LoadedStripe st) throws IOException {
        boolean partly = false;
        for (long[] r : st.corruptRanges) {
            partly |= r != null;
        }
        if (!partly) {
            regenerate(st, 0, st.lengthBytes);
            return;
        }
        // Some positions are bad only in some blocks (integrity mismatches): each run of bytes is
        // regenerated from what is good in it, so two members bad in different blocks of one
        // stripe are both recovered.
        java.util.TreeSet<Long> cuts = new java.util.TreeSet<>(List.of(0L, (long) st.lengthBytes));
        for (long[] r : st.corruptRanges) {
            if (r != null) {
                for (long b : r) {
                    cuts.add(b);
                }
            }
        }
        long from = 0;
        for (long to : cuts.tailSet(1L)) {
            regenerate(st, (int) from, (int) (to - from));
            from = to;
        }
    }

    /** Whether position {@code d}'s bytes in {@code [from, from + len)} are lost (the run never straddles a cut). */
    private static boolean lost(LoadedStripe st, int d, int from) {
        if (!st.unreadable[d]) {
            return false;
        }
        long[] r = st.corruptRanges[d];
        if (r == null) {
            return true;
        }
        for (int i = 0; i < r.length; i += 2) {
            if (from >= r[i] && from < r[i + 1]) {
                return true;
            }
        }
        return false;
    }

    private void regenerate(LoadedStripe st, int from, int len) throws IOException {
        int lostA = -1;
        int lostB = -1;
        int lost = 0;
        for (int i = 0; i < k + parityCount; i++) {
            int disk =
                    i < k ? layout.dataDisk(st.stripe, i) : i == k ? layout.pDisk(st.stripe) : layout.qDisk(st.stripe);
            if (lost(st, disk, from)) {
                int index = i < k ? layout.syndromeIndex(st.stripe, i) : i;
                lost++;
                if (lostA < 0) {
                    lostA = index;
                } else {
                    lostB = index;
                }
            }
        }
        if (lost > parityCount) {
            throw new IOException("array " + arrayName + ": stripe " + st.stripe + " cannot be reconstructed: "
                    + describeUnreadable(st));
        }
        if (lost == 1) {
            recovery.recover(syn(st), k, lostA, from, len);
        } else if (lost == 2) {
            recovery.recover(syn(st), k, lostA, lostB, from, len);
        }
    }

    private String describeUnreadable(LoadedStripe st) {
        StringBuilder sb = new StringBuilder();
        for (int d = 0; d < n; d++) {
            if (st.unreadable[d]) {
                Member m = st.view.member(d);
                sb.append(sb.length() == 0 ? "" : ", ")
                        .append(m.name())
                        .append(" (")
                        .append(st.view.writable(d) ? "unreadable" : m.state().label())
                        .append(')');
            }
        }
        return sb + " unavailable, more than the " + parityCount + " this level tolerates";
    }

    /**
     * Rewrites, on members that are writable but could not be read, what they should hold (md's
     * read-error correction). A member whose rewrite fails is failed.
     */
    void repair(LoadedStripe st) throws IOException {
        boolean any = false;
        for (int d = 0; d < n; d++) {
            any |= st.unreadable[d] && st.view.writable(d);
        }
        if (!any) {
            return;
        }
        IoBatch writes = new IoBatch();
        for (int d = 0; d < n; d++) {
            if (st.unreadable[d] && st.view.writable(d)) {
                st.view.write(writes, d, st.memberOffsets[d], ByteBuffer.wrap(st.blocks[d], 0, st.lengthBytes));
            }
        }
        try {
            members.failMembers(writes.await(members.timeoutNs()));
        } catch (io.raidd.blockdev.NoSpaceException e) {
            // The read is served all the same; the block stays unreadable until space is back.
            LOG.log(Level.WARNING, "array {0}: cannot rewrite an unreadable block: {1}", arrayName, e.getMessage());
            return;
        }
        noteRepairs(st);
    }

    /** Counts and logs the blocks rewritten on members that had failed to read them. */
    void noteRepairs(LoadedStripe st) {
        for (int d = 0; d < n; d++) {
            Member m = st.view.reader(d);
            if (st.unreadable[d] && m != null && m.live()) {
                m.noteCorrectedRead();
                LOG.log(
                        Level.INFO,
                        "array {0}: rewrote {1} bytes at data offset {2} on {3} (read error corrected)",
                        arrayName,
                        st.lengthBytes,
                        st.memberOffsets[d],
                        m.name());
            }
        }
    }

    boolean complete() {
        return members.complete();
    }

    /** Refuses to acknowledge once more members are gone than parity can cover. */
    void checkAlive() throws IOException {
        if (!members.complete()) {
            int failed = n - members.activeCount();
            throw new IOException("array " + arrayName + " has failed: " + failed + " of " + n
                    + " members unavailable, level tolerates " + parityCount);
        }
    }

    // ---------------------------------------------------------------------------- StripeAccess

    @Override
    public long stripeCount() {
        return stripes;
    }

    @Override
    public StripeLock lock(long stripe) {
        return locks.lock(stripe);
    }

    @Override
    public StripeLock lockAll(long[] stripes) {
        return locks.lockAll(stripes);
    }

    @Override
    public void drain() {
        locks.drain();
    }

    @Override
    public int chunkBytes() {
        return chunkBytes;
    }

    @Override
    public long memberChunks() {
        return stripes;
    }

    @Override
    public long stripeAt(int slot, long memberChunk) {
        return memberChunk < stripes ? memberChunk : -1;
    }

    @Override
    public int positionOf(long stripe, int slot) {
        return slot;
    }

    @Override
    public long stripeOfVolumeOffset(long volumeOffsetBytes) {
        return volumeOffsetBytes / ((long) k * chunkBytes);
    }

    @Override
    public long[] volumeRange(long stripe) {
        long bytes = (long) k * chunkBytes;
        return new long[] {stripe * bytes, bytes};
    }

    @Override
    public long holeChunks(long memberChunk, long maxChunks, java.util.Collection<Member> targets) throws IOException {
        long max = Math.min(maxChunks, stripes - memberChunk);
        return max <= 0 ? 0 : HoleRuns.holeChunks(view(memberChunk), chunkBytes, memberChunk, max, targets, k);
    }

    @Override
    public boolean rebuildsInRuns() {
        return true;
    }

    @Override
    public boolean rebuildRun(long first, int count, java.util.Collection<Member> targets) throws IOException {
        long from = memberOffset(first, 0);
        int len = Math.multiplyExact(count, chunkBytes);
        StripeView view = view(first + count - 1);
        boolean[] target = new boolean[n];
        for (Member t : targets) {
            target[t.slot()] = true;
        }
        int lost = 0;
        Member[] readers = new Member[n];
        for (int d = 0; d < n; d++) {
            if (target[d]) {
                lost++;
            } else if ((readers[d] = view.reader(d)) == null) {
                return false;
            }
        }
        if (lost > parityCount) {
            return false;
        }
        Scratch scratch = Scratch.get();
        ByteBuffer[] bufs = scratch.directBlocks(n, len);
        IoBatch reads = new IoBatch();
        for (int d = 0; d < n; d++) {
            if (!target[d]) {
                reads.read(readers[d], from, bufs[d].duplicate());
            }
        }
        List<IoBatch.Op> failed = reads.await(members.timeoutNs());
        if (!failed.isEmpty()) {
            members.failMembers(failed);
            return false; // stripe by stripe works around what cannot be read
        }
        if (lost == 1 && parityCount == 1) {
            xorOthers(bufs, target, len);
        } else {
            regenerateRun(first, count, bufs, target, view);
        }
        IoBatch writes = new IoBatch();
        for (Member t : targets) {
            writes.write(t, from, bufs[t.slot()].duplicate());
        }
        members.failMembers(writes.await(members.timeoutNs()));
        return true;
    }

    /** RAID-4/5, one target: its blocks are the XOR of every other member's, straight from the buffers. */
    private void xorOthers(ByteBuffer[] bufs, boolean[] target, int len) {
        ByteBuffer[] sources = new ByteBuffer[n - 1];
        int t = -1;
        for (int off = 0; off < len; off += ParityWrites.PARITY_WINDOW_BYTES) {
            int length = Math.min(ParityWrites.PARITY_WINDOW_BYTES, len - off);
            int z = 0;
            for (int d = 0; d < n; d++) {
                if (target[d]) {
                    t = d;
                } else {
                    sources[z++] = bufs[d].duplicate().position(off);
                }
            }
            BufferParity.p(sources, z, bufs[t].duplicate().position(off), length);
        }
    }

    /** RAID-6 (or several targets): stripe by stripe through the recovery kernels, in memory. */
    private void regenerateRun(long first, int count, ByteBuffer[] bufs, boolean[] target, StripeView view)
            throws IOException {
        byte[][] blocks = Scratch.get().blocks(n, chunkBytes);
        int[] slots = new int[n];
        long[] offsets = new long[n];
        for (int d = 0; d < n; d++) {
            slots[d] = d;
        }
        for (int j = 0; j < count; j++) {
            long stripe = first + j;
            int at = j * chunkBytes;
            LoadedStripe st = new LoadedStripe(stripe, chunkBytes, blocks, slots, offsets, view);
            st.engineState = syndromeView(stripe, blocks, chunkBytes);
            for (int d = 0; d < n; d++) {
                st.unreadable[d] = target[d];
                if (!target[d]) {
                    bufs[d].get(at, blocks[d], 0, chunkBytes);
                }
            }
            regenerateUnreadable(st);
            for (int d = 0; d < n; d++) {
                if (target[d]) {
                    bufs[d].put(at, blocks[d], 0, chunkBytes);
                }
            }
        }
    }

    @Override
    public long nextHoleChunk(long memberChunk, java.util.Collection<Member> targets) throws IOException {
        return HoleRuns.nextHoleChunk(view(memberChunk), chunkBytes, memberChunk, stripes, targets);
    }

    @Override
    public void zeroChunks(long memberChunk, long count, java.util.Collection<Member> targets) throws IOException {
        HoleRuns.zero(members, chunkBytes, memberChunk, count, targets);
    }

    @Override
    public LoadedStripe load(long stripe) throws IOException {
        return loadHull(stripe, 0, chunkBytes, -1, view(stripe));
    }

    @Override
    public LoadedStripe load(long stripe, Member.Verify verify) throws IOException {
        return loadHull(stripe, 0, chunkBytes, -1, view(stripe), verify);
    }

    @Override
    public int[] syndromePositions(long stripe) {
        int[] out = new int[k + 2];
        for (int i = 0; i < k; i++) {
            out[layout.syndromeIndex(stripe, i)] = layout.dataDisk(stripe, i);
        }
        out[k] = layout.pDisk(stripe);
        out[k + 1] = layout.qDisk(stripe);
        return out;
    }

    @Override
    public ParityKernel kernel() {
        return kernel;
    }

    @Override
    public void regenerate(LoadedStripe stripe) throws IOException {
        regenerateUnreadable(stripe);
    }

    @Override
    public int[] reconcile(LoadedStripe st) throws IOException {
        int unreadable = st.unreadableCount();
        if (unreadable > 0) {
            for (int d = 0; d < n; d++) {
                if (st.unreadable[d] && !st.view.readable(d)) {
                    return new int[0]; // degraded: nothing to compare against, the data stands as it is
                }
            }
            // Read errors on members that should have read: regenerate and rewrite those blocks.
            regenerateUnreadable(st);
            int[] out = new int[unreadable];
            int count = 0;
            for (int d = 0; d < n; d++) {
                if (st.unreadable[d]) {
                    out[count++] = d;
                }
            }
            return out;
        }
        int len = st.lengthBytes;
        int pDisk = layout.pDisk(st.stripe);
        int qDisk = layout.qDisk(st.stripe);
        Scratch scratch = Scratch.get();
        byte[] p = scratch.spareA(len);
        byte[] q = scratch.spareB(len);
        byte[][] syn = syn(st);
        if (qDisk >= 0) {
            kernel.pq(syn, k, p, q, 0, len);
        } else {
            kernel.p(syn, k, p, 0, len);
        }
        int[] differ = new int[2];
        int count = 0;
        if (!Arrays.equals(p, 0, len, st.blocks[pDisk], 0, len)) {
            System.arraycopy(p, 0, st.blocks[pDisk], 0, len);
            differ[count++] = pDisk;
        }
        if (qDisk >= 0 && !Arrays.equals(q, 0, len, st.blocks[qDisk], 0, len)) {
            System.arraycopy(q, 0, st.blocks[qDisk], 0, len);
            differ[count++] = qDisk;
        }
        return Arrays.copyOf(differ, count);
    }

    @Override
    public int rewrite(LoadedStripe st, int position, Member only) throws IOException {
        return st.rewrite(members, position, only);
    }

    @Override
    public MemberLifecycle lifecycleOf() {
        return members;
    }
}
