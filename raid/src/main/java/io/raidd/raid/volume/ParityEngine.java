package io.raidd.raid.volume;

import io.raidd.blockdev.Extent;
import io.raidd.raid.layout.ParityLayout;
import io.raidd.raid.parity.BufferParity;
import io.raidd.raid.parity.GaloisField;
import io.raidd.raid.parity.ParityKernel;
import io.raidd.raid.parity.Raid6Recovery;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

/**
 * RAID-4/5/6: the read path (direct, or reconstructing around unreadable members) and the write
 * path (read-modify-write or reconstruct-write chosen by how many bytes each must read; a path
 * that reconstructs first when members are missing or unreadable).
 *
 * <p>All work on one stripe happens under that stripe's lock and over the stripe's "hull": the
 * smallest member byte range {@code [lo, hi)} inside the chunk that covers every touched piece.
 * Parity is always computed over the whole hull, so P and Q stay consistent byte for byte.
 */
final class ParityEngine implements VolumeEngine {
    private static final System.Logger LOG = System.getLogger("io.raidd.raid");

    private final String arrayName;
    private final ParityLayout layout;
    private final int chunkBytes;
    private final int n;
    private final int k;
    private final int parityCount;
    private final long stripes;
    private final MemberSet members;
    private final ParityKernel kernel;
    private final Raid6Recovery recovery;
    private final StripeLocks locks = new StripeLocks();
    private final ByteBuffer zeroChunk;

    ParityEngine(
            String arrayName,
            ParityLayout layout,
            int chunkBytes,
            long memberUsedBytes,
            MemberSet members,
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
        this.zeroChunk = ByteBuffer.allocateDirect(chunkBytes).asReadOnlyBuffer();
    }

    private long stripeOf(Piece p) {
        return p.chunk() / k;
    }

    private int dataIndexOf(Piece p) {
        return (int) (p.chunk() % k);
    }

    private long memberOffset(long stripe, int inChunkBytes) {
        return stripe * chunkBytes + inChunkBytes;
    }

    // ---------------------------------------------------------------------------------------- read

    @Override
    public void read(long offsetBytes, ByteBuffer dst) throws IOException {
        int base = dst.position();
        int length = dst.remaining();
        List<Piece> pieces = Piece.split(offsetBytes, length, chunkBytes);
        IoBatch batch = new IoBatch();
        IoBatch.Op[] ops = new IoBatch.Op[pieces.size()];
        for (int i = 0; i < ops.length; i++) {
            Piece p = pieces.get(i);
            Member m = members.get(layout.dataDisk(stripeOf(p), dataIndexOf(p)));
            if (m.usable()) {
                ops[i] = batch.read(
                        m,
                        memberOffset(stripeOf(p), p.inChunkBytes()),
                        dst.slice(base + p.bufferOffsetBytes(), p.lengthBytes()));
            }
        }
        members.failMembers(batch.await(members.timeoutNs()));
        for (int i = 0; i < ops.length; i++) {
            if (ops[i] == null || ops[i].failed()) {
                Piece p = pieces.get(i);
                reconstructRead(p, dst.slice(base + p.bufferOffsetBytes(), p.lengthBytes()), ops[i]);
            }
        }
        dst.position(base + length);
    }

    /**
     * The direct read path from members' memory. Like {@link #read} it takes no stripe lock: data
     * chunks are viewed where they lie, and a missing member means a reconstruction, which is left
     * to the blocking path.
     */
    @Override
    public boolean viewIfCached(long offsetBytes, int lengthBytes, List<ByteBuffer> out) {
        for (Piece p : Piece.split(offsetBytes, lengthBytes, chunkBytes)) {
            Member m = members.get(layout.dataDisk(stripeOf(p), dataIndexOf(p)));
            if (!m.viewIfCached(memberOffset(stripeOf(p), p.inChunkBytes()), p.lengthBytes(), out)) {
                return false;
            }
        }
        return true;
    }

    /** Serves a piece whose member is missing or could not read it, and repairs the member. */
    private void reconstructRead(Piece p, ByteBuffer dst, IoBatch.Op failedRead) throws IOException {
        long stripe = stripeOf(p);
        int disk = layout.dataDisk(stripe, dataIndexOf(p));
        ReentrantLock lock = locks.forStripe(stripe);
        lock.lock();
        try {
            if (failedRead != null && !failedRead.timedOut) {
                LOG.log(
                        Level.INFO,
                        "array {0}: {1}: {2}; reconstructing",
                        arrayName,
                        members.get(disk).name(),
                        failedRead.describe());
            }
            Stripe st = load(stripe, p.inChunkBytes(), p.endInChunkBytes(), failedRead == null ? -1 : disk);
            dst.put(st.blocks[disk], 0, p.lengthBytes());
            repair(st);
        } finally {
            lock.unlock();
        }
    }

    // --------------------------------------------------------------------------------------- write

    @Override
    public void write(long offsetBytes, ByteBuffer src) throws IOException {
        writeGathered(offsetBytes, Gather.of(src));
    }

    /**
     * Writes stripe by stripe. The bytes of one stripe may come from several caller buffers (adjacent
     * requests combined), which is how half-stripe requests become full-stripe writes that need no
     * reads.
     */
    @Override
    public void writeGathered(long offsetBytes, Gather src) throws IOException {
        List<Piece> pieces = Piece.split(offsetBytes, src.lengthBytes(), chunkBytes);
        int from = 0;
        while (from < pieces.size()) {
            long stripe = stripeOf(pieces.get(from));
            int to = from + 1;
            while (to < pieces.size() && stripeOf(pieces.get(to)) == stripe) {
                to++;
            }
            writeStripe(stripe, pieces.subList(from, to), src);
            from = to;
        }
        src.consume();
    }

    private void writeStripe(long stripe, List<Piece> pieces, Gather src) throws IOException {
        int lo = chunkBytes;
        int hi = 0;
        for (Piece p : pieces) {
            lo = Math.min(lo, p.inChunkBytes());
            hi = Math.max(hi, p.endInChunkBytes());
        }
        StripeWrite w = new StripeWrite(stripe, lo, hi, pieces, src);
        ReentrantLock lock = locks.forStripe(stripe);
        lock.lock();
        try {
            int unreadable = -1;
            if (w.coversAllData()) {
                writeFull(w);
            } else if (dataUsable(stripe)) {
                unreadable = w.rmwReadBytes() < w.rcwReadBytes() ? readModifyWrite(w) : reconstructWrite(w);
                if (unreadable >= 0) {
                    writeReconstructing(w, unreadable);
                }
            } else {
                writeReconstructing(w, -1);
            }
        } finally {
            lock.unlock();
        }
        checkAlive();
    }

    /** The pieces of one request that fall in one stripe, and the stripe's hull. */
    private final class StripeWrite {
        final long stripe;
        final int lo;
        final int hi;
        final Piece[] byDataIndex = new Piece[k];
        final Gather src;

        StripeWrite(long stripe, int lo, int hi, List<Piece> pieces, Gather src) {
            this.stripe = stripe;
            this.lo = lo;
            this.hi = hi;
            this.src = src;
            for (Piece p : pieces) {
                byDataIndex[dataIndexOf(p)] = p;
            }
        }

        int hullBytes() {
            return hi - lo;
        }

        boolean covers(int dataIndex) {
            Piece p = byDataIndex[dataIndex];
            return p != null && p.inChunkBytes() <= lo && p.endInChunkBytes() >= hi;
        }

        boolean coversAllData() {
            for (int i = 0; i < k; i++) {
                if (!covers(i)) {
                    return false;
                }
            }
            return true;
        }

        long rmwReadBytes() {
            int usableParity =
                    (parityUsable(layout.pDisk(stripe)) ? 1 : 0) + (parityUsable(layout.qDisk(stripe)) ? 1 : 0);
            if (usableParity == 0) {
                return 0; // nothing to update: the data writes are all there is
            }
            long bytes = (long) usableParity * hullBytes();
            for (Piece p : byDataIndex) {
                if (p != null) {
                    bytes += p.lengthBytes();
                }
            }
            return bytes;
        }

        long rcwReadBytes() {
            long bytes = 0;
            for (int i = 0; i < k; i++) {
                if (!covers(i)) {
                    bytes += hullBytes();
                }
            }
            return bytes;
        }

        /**
         * Writes the piece's new bytes to member {@code m} from the caller's buffers: one member
         * operation, gathering every buffer the piece spans.
         */
        void issueWrite(IoBatch batch, Member m, Piece p) {
            batch.write(m, memberOffset(stripe, p.inChunkBytes()), src.views(p.bufferOffsetBytes(), p.lengthBytes()));
        }

        /** Copies the piece's new bytes into a hull-relative block. */
        void copyInto(Piece p, byte[] block) {
            src.copyTo(p.bufferOffsetBytes(), block, p.inChunkBytes() - lo, p.lengthBytes());
        }
    }

    private boolean allUsable() {
        return members.usableCount() == n;
    }

    /** Every data member of the stripe is usable (parity members may be gone). */
    private boolean dataUsable(long stripe) {
        for (int i = 0; i < k; i++) {
            if (!members.get(layout.dataDisk(stripe, i)).usable()) {
                return false;
            }
        }
        return true;
    }

    private boolean parityUsable(int disk) {
        return disk >= 0 && members.get(disk).usable();
    }

    /**
     * Full-stripe parity is computed this many bytes at a time, so what a pass writes is still in the
     * core's cache when the next pass reads it (RAID-6: the data's heap copies; RAID-5 with more than
     * four data disks: P between its folding passes), instead of a whole stripe (megabytes) being
     * written to memory and read back.
     */
    static final int PARITY_WINDOW_BYTES = 64 * 1024;

    /**
     * Every data chunk is covered over the hull: parity comes from the new data alone. The data
     * goes to the members straight from the caller's buffers.
     */
    private void writeFull(StripeWrite w) throws IOException {
        int len = w.hullBytes();
        Scratch scratch = Scratch.get();
        IoBatch batch = new IoBatch();
        issueDataWrites(w, batch);
        if (parityCount == 1) {
            ByteBuffer p = scratch.directParity(len);
            pFromBuffers(w, p, len);
            issueParityWrites(w.stripe, w.lo, p, null, batch);
        } else {
            byte[] p = scratch.spareA(len);
            byte[] q = scratch.spareB(len);
            pqFromCopies(w, p, q, len);
            issueParityWrites(w.stripe, w.lo, len, p, q, batch);
        }
        members.failMembers(batch.await(members.timeoutNs()));
    }

    /**
     * RAID-4/5: P read straight from the caller's buffers, a window at a time (shorter where a
     * source crosses from one caller buffer to the next). Copying the data to the heap for the array
     * kernels cost more than the XOR itself.
     */
    private void pFromBuffers(StripeWrite w, ByteBuffer p, int len) {
        ByteBuffer[] sources = new ByteBuffer[k];
        for (int off = 0; off < len; ) {
            int length = Math.min(len - off, PARITY_WINDOW_BYTES);
            for (int i = 0; i < k; i++) {
                // Every piece covers the hull exactly, so hull offset = offset in the piece.
                sources[i] = w.src.contiguousAt(w.byDataIndex[i].bufferOffsetBytes() + off, length);
                length = Math.min(length, sources[i].remaining());
            }
            BufferParity.p(sources, k, p.position(off), length);
            off += length;
        }
        p.position(0);
    }

    /**
     * RAID-6: Q needs the array kernels, so the data is copied to the heap window by window; the
     * copies then stay in the core's cache between the copy and the parity pass.
     */
    private void pqFromCopies(StripeWrite w, byte[] p, byte[] q, int len) {
        int window = Math.min(len, PARITY_WINDOW_BYTES);
        byte[][] syn = Scratch.get().blocks(k + 2, window); // data in syndrome order, then P and Q
        for (int off = 0; off < len; off += window) {
            int length = Math.min(window, len - off);
            for (int i = 0; i < k; i++) {
                Piece piece = w.byDataIndex[i];
                w.src.copyTo(piece.bufferOffsetBytes() + off, syn[layout.syndromeIndex(w.stripe, i)], 0, length);
            }
            computeParity(w.stripe, syn, length);
            System.arraycopy(syn[k], 0, p, off, length);
            System.arraycopy(syn[k + 1], 0, q, off, length);
        }
    }

    /**
     * Reads the old data of the touched pieces and the old parity, folds the difference into P and
     * Q. Returns -1, or a member that could not be read (the caller falls back to reconstruction).
     */
    private int readModifyWrite(StripeWrite w) throws IOException {
        int len = w.hullBytes();
        Scratch scratch = Scratch.get();
        byte[][] blocks = scratch.blocks(n, len);
        byte[] fresh = scratch.spareA(len);
        int pDisk = parityUsable(layout.pDisk(w.stripe)) ? layout.pDisk(w.stripe) : -1;
        int qDisk = parityUsable(layout.qDisk(w.stripe)) ? layout.qDisk(w.stripe) : -1;
        if (pDisk < 0 && qDisk < 0) {
            IoBatch writes = new IoBatch();
            issueDataWrites(w, writes);
            members.failMembers(writes.await(members.timeoutNs()));
            return -1;
        }
        IoBatch reads = new IoBatch();
        for (int i = 0; i < k; i++) {
            Piece p = w.byDataIndex[i];
            if (p != null) {
                int d = layout.dataDisk(w.stripe, i);
                reads.read(
                        members.get(d),
                        memberOffset(w.stripe, p.inChunkBytes()),
                        ByteBuffer.wrap(blocks[d], p.inChunkBytes() - w.lo, p.lengthBytes()));
            }
        }
        if (pDisk >= 0) {
            reads.read(members.get(pDisk), memberOffset(w.stripe, w.lo), ByteBuffer.wrap(blocks[pDisk], 0, len));
        }
        if (qDisk >= 0) {
            reads.read(members.get(qDisk), memberOffset(w.stripe, w.lo), ByteBuffer.wrap(blocks[qDisk], 0, len));
        }
        int unreadable = firstUnreadable(reads.await(members.timeoutNs()));
        if (unreadable >= 0) {
            return unreadable;
        }
        byte[] p = pDisk >= 0 ? blocks[pDisk] : null;
        byte[] q = qDisk >= 0 ? blocks[qDisk] : null;
        for (int i = 0; i < k; i++) {
            Piece piece = w.byDataIndex[i];
            if (piece == null) {
                continue;
            }
            byte[] delta = blocks[layout.dataDisk(w.stripe, i)];
            int off = piece.inChunkBytes() - w.lo;
            w.copyInto(piece, fresh);
            kernel.xorInto(fresh, delta, off, piece.lengthBytes());
            if (p != null) {
                kernel.xorInto(delta, p, off, piece.lengthBytes());
            }
            if (q != null) {
                kernel.mulXorInto(
                        GaloisField.pow2(layout.syndromeIndex(w.stripe, i)), delta, q, off, piece.lengthBytes());
            }
        }
        IoBatch writes = new IoBatch();
        issueDataWrites(w, writes);
        issueParityWrites(w.stripe, w.lo, len, blocks, writes);
        members.failMembers(writes.await(members.timeoutNs()));
        return -1;
    }

    /**
     * Reads the data chunks the request does not fully cover, overlays the new bytes and computes
     * parity from scratch. Returns -1, or a member that could not be read.
     */
    private int reconstructWrite(StripeWrite w) throws IOException {
        int len = w.hullBytes();
        byte[][] blocks = Scratch.get().blocks(n, len);
        IoBatch reads = new IoBatch();
        for (int i = 0; i < k; i++) {
            if (!w.covers(i)) {
                int d = layout.dataDisk(w.stripe, i);
                reads.read(members.get(d), memberOffset(w.stripe, w.lo), ByteBuffer.wrap(blocks[d], 0, len));
            }
        }
        int unreadable = firstUnreadable(reads.await(members.timeoutNs()));
        if (unreadable >= 0) {
            return unreadable;
        }
        for (int i = 0; i < k; i++) {
            Piece p = w.byDataIndex[i];
            if (p != null) {
                w.copyInto(p, blocks[layout.dataDisk(w.stripe, i)]);
            }
        }
        computeParity(w.stripe, syndromeView(w.stripe, blocks, len), len);
        IoBatch writes = new IoBatch();
        issueDataWrites(w, writes);
        issueParityWrites(w.stripe, w.lo, len, blocks, writes);
        members.failMembers(writes.await(members.timeoutNs()));
        return -1;
    }

    /**
     * The general path: load the whole hull from every readable member, regenerate what is missing,
     * overlay the new bytes, recompute parity, and write every usable member that changed, plus every
     * active member that could not be read (its hull is rewritten, which repairs it).
     */
    private void writeReconstructing(StripeWrite w, int suspect) throws IOException {
        Stripe st = load(w.stripe, w.lo, w.hi, suspect);
        int len = w.hullBytes();
        for (int i = 0; i < k; i++) {
            Piece p = w.byDataIndex[i];
            if (p != null) {
                w.copyInto(p, st.blocks[layout.dataDisk(w.stripe, i)]);
            }
        }
        computeParity(w.stripe, st.syn, len);
        IoBatch writes = new IoBatch();
        for (int i = 0; i < k; i++) {
            int d = layout.dataDisk(w.stripe, i);
            Member m = members.get(d);
            if (!m.usable()) {
                continue;
            }
            if (st.unreadable[d]) {
                writes.write(m, memberOffset(w.stripe, w.lo), ByteBuffer.wrap(st.blocks[d], 0, len));
            } else if (w.byDataIndex[i] != null) {
                w.issueWrite(writes, m, w.byDataIndex[i]);
            }
        }
        issueParityWrites(w.stripe, w.lo, len, st.blocks, writes);
        members.failMembers(writes.await(members.timeoutNs()));
        noteRepairs(st);
    }

    private void issueDataWrites(StripeWrite w, IoBatch batch) {
        for (int i = 0; i < k; i++) {
            Piece p = w.byDataIndex[i];
            if (p != null) {
                Member m = members.get(layout.dataDisk(w.stripe, i));
                if (m.usable()) {
                    w.issueWrite(batch, m, p);
                }
            }
        }
    }

    private void issueParityWrites(long stripe, int lo, int len, byte[][] blocks, IoBatch batch) {
        int qDisk = layout.qDisk(stripe);
        issueParityWrites(stripe, lo, len, blocks[layout.pDisk(stripe)], qDisk >= 0 ? blocks[qDisk] : null, batch);
    }

    private void issueParityWrites(long stripe, int lo, int len, byte[] p, byte[] q, IoBatch batch) {
        issueParityWrites(stripe, lo, ByteBuffer.wrap(p, 0, len), q != null ? ByteBuffer.wrap(q, 0, len) : null, batch);
    }

    /**
     * Writes P (and Q, when the level has it) over the hull, from each buffer's remaining bytes, to
     * the parity members still usable.
     */
    private void issueParityWrites(long stripe, int lo, ByteBuffer p, ByteBuffer q, IoBatch batch) {
        int pDisk = layout.pDisk(stripe);
        if (members.get(pDisk).usable()) {
            batch.write(members.get(pDisk), memberOffset(stripe, lo), p);
        }
        int qDisk = layout.qDisk(stripe);
        if (q != null && members.get(qDisk).usable()) {
            batch.write(members.get(qDisk), memberOffset(stripe, lo), q);
        }
    }

    /** Fails members whose reads timed out; returns the first member with a read error, or -1. */
    private int firstUnreadable(List<IoBatch.Op> failed) throws IOException {
        if (failed.isEmpty()) {
            return -1;
        }
        members.failMembers(failed);
        IoBatch.Op op = failed.get(0);
        if (!op.timedOut) {
            LOG.log(Level.INFO, "array {0}: {1}: {2}; reconstructing", arrayName, op.member.name(), op.describe());
        }
        return op.member.slot();
    }

    private void computeParity(long stripe, byte[][] syn, int len) {
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
    private byte[][] syndromeView(long stripe, byte[][] blocks, int len) {
        byte[][] syn = new byte[k + 2][];
        for (int i = 0; i < k; i++) {
            syn[layout.syndromeIndex(stripe, i)] = blocks[layout.dataDisk(stripe, i)];
        }
        syn[k] = blocks[layout.pDisk(stripe)];
        int qDisk = layout.qDisk(stripe);
        syn[k + 1] = qDisk >= 0 ? blocks[qDisk] : Scratch.get().spareB(len);
        return syn;
    }

    // ------------------------------------------------------------------------------- reconstruction

    /** A stripe's hull loaded from every readable member, with lost data regenerated. */
    private static final class Stripe {
        long stripe;
        int lo;
        int len;
        byte[][] blocks;
        byte[][] syn;
        boolean[] unreadable;
    }

    /**
     * Reads {@code [lo, hi)} of {@code stripe} from every usable member except {@code suspect}, then
     * regenerates the blocks that could not be read. Caller holds the stripe lock.
     */
    private Stripe load(long stripe, int lo, int hi, int suspect) throws IOException {
        Stripe st = new Stripe();
        st.stripe = stripe;
        st.lo = lo;
        st.len = hi - lo;
        Scratch scratch = Scratch.get();
        st.blocks = scratch.blocks(n, st.len);
        st.syn = syndromeView(stripe, st.blocks, st.len);
        st.unreadable = new boolean[n];
        boolean[] loaded = new boolean[n];
        for (int d = 0; d < n; d++) {
            st.unreadable[d] = d == suspect || !members.get(d).usable();
        }
        while (true) {
            IoBatch reads = new IoBatch();
            for (int d = 0; d < n; d++) {
                if (!st.unreadable[d] && !loaded[d]) {
                    reads.read(members.get(d), memberOffset(stripe, lo), ByteBuffer.wrap(st.blocks[d], 0, st.len));
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
                st.unreadable[op.member.slot()] = true;
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
        regenerateData(st);
        return st;
    }

    /** Rebuilds the unreadable blocks of a loaded stripe (data, and parity for the repair). */
    private void regenerateData(Stripe st) throws IOException {
        int lostA = -1;
        int lostB = -1;
        int lost = 0;
        for (int i = 0; i < k + parityCount; i++) {
            int disk =
                    i < k ? layout.dataDisk(st.stripe, i) : i == k ? layout.pDisk(st.stripe) : layout.qDisk(st.stripe);
            if (st.unreadable[disk]) {
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
            recovery.recover(st.syn, k, lostA, 0, st.len);
        } else if (lost == 2) {
            recovery.recover(st.syn, k, lostA, lostB, 0, st.len);
        }
    }

    private String describeUnreadable(Stripe st) {
        StringBuilder sb = new StringBuilder();
        for (int d = 0; d < n; d++) {
            if (st.unreadable[d]) {
                Member m = members.get(d);
                sb.append(sb.length() == 0 ? "" : ", ")
                        .append(m.name())
                        .append(" (")
                        .append(m.usable() ? "unreadable" : m.state())
                        .append(')');
            }
        }
        return sb + " unavailable, more than the " + parityCount + " this level tolerates";
    }

    /**
     * Rewrites, on members that are active but could not be read, what they should hold (md's
     * read-error correction). A member whose rewrite fails is failed.
     */
    private void repair(Stripe st) throws IOException {
        boolean any = false;
        for (int d = 0; d < n; d++) {
            any |= st.unreadable[d] && members.get(d).usable();
        }
        if (!any) {
            return;
        }
        IoBatch writes = new IoBatch();
        for (int d = 0; d < n; d++) {
            if (st.unreadable[d] && members.get(d).usable()) {
                writes.write(members.get(d), memberOffset(st.stripe, st.lo), ByteBuffer.wrap(st.blocks[d], 0, st.len));
            }
        }
        members.failMembers(writes.await(members.timeoutNs()));
        noteRepairs(st);
    }

    private void noteRepairs(Stripe st) {
        for (int d = 0; d < n; d++) {
            Member m = members.get(d);
            if (st.unreadable[d] && m.usable()) {
                m.noteCorrectedRead();
                LOG.log(
                        Level.INFO,
                        "array {0}: rewrote {1} bytes at data offset {2} on {3} (read error corrected)",
                        arrayName,
                        st.len,
                        memberOffset(st.stripe, st.lo),
                        m.name());
            }
        }
    }

    @Override
    public boolean complete() {
        return n - members.usableCount() <= parityCount;
    }

    /** Refuses to acknowledge once more members are gone than parity can cover. */
    private void checkAlive() throws IOException {
        int failed = n - members.usableCount();
        if (failed > parityCount) {
            throw new IOException("array " + arrayName + " has failed: " + failed + " of " + n
                    + " members unavailable, level tolerates " + parityCount);
        }
    }

    // --------------------------------------------------------------------------- zeroing, discard

    @Override
    public void writeZeroes(long offsetBytes, long lengthBytes) throws IOException {
        zeroRange(offsetBytes, lengthBytes, true);
    }

    @Override
    public void discard(long offsetBytes, long lengthBytes) throws IOException {
        zeroRange(offsetBytes, lengthBytes, false);
    }

    /**
     * Whole stripes are zeroed on every member (zero data has zero P and Q, so no parity work);
     * partial stripes at the ends go through the write path when zeroes are required, and are
     * skipped for a discard.
     */
    private void zeroRange(long offsetBytes, long lengthBytes, boolean partialsToo) throws IOException {
        long stripeBytes = (long) k * chunkBytes;
        long end = offsetBytes + lengthBytes;
        long firstFull = (offsetBytes + stripeBytes - 1) / stripeBytes;
        long lastFull = end / stripeBytes;
        if (firstFull >= lastFull) {
            if (partialsToo) {
                writeZeroesThroughWritePath(offsetBytes, end);
            }
            return;
        }
        if (partialsToo) {
            writeZeroesThroughWritePath(offsetBytes, firstFull * stripeBytes);
        }
        for (long s = firstFull; s < lastFull; s++) {
            ReentrantLock lock = locks.forStripe(s);
            lock.lock();
            try {
                IoBatch batch = new IoBatch();
                for (int d = 0; d < n; d++) {
                    if (members.get(d).usable()) {
                        batch.writeZeroes(members.get(d), memberOffset(s, 0), chunkBytes);
                    }
                }
                members.failMembers(batch.await(members.timeoutNs()));
            } finally {
                lock.unlock();
            }
            checkAlive();
        }
        if (partialsToo) {
            writeZeroesThroughWritePath(lastFull * stripeBytes, end);
        }
    }

    private void writeZeroesThroughWritePath(long from, long to) throws IOException {
        for (long pos = from; pos < to; ) {
            int n = (int) Math.min(to - pos, chunkBytes);
            write(pos, zeroChunk.slice(0, n));
            pos += n;
        }
    }

    // ---------------------------------------------------------------------------------- allocation

    @Override
    public List<Extent> allocation(long offsetBytes, long lengthBytes) throws IOException {
        List<Extent> out = new ArrayList<>();
        long pos = offsetBytes;
        long end = offsetBytes + lengthBytes;
        int budget = 4096; // member queries per call; the caller asks again from where we stop
        while (pos < end && budget-- > 0) {
            long chunk = pos / chunkBytes;
            int in = (int) (pos - chunk * chunkBytes);
            long len = Math.min(end - pos, chunkBytes - in);
            long stripe = chunk / k;
            Member m = members.get(layout.dataDisk(stripe, (int) (chunk % k)));
            Extents.appendMemberRange(out, m.usable() ? m : null, pos, memberOffset(stripe, in), len);
            pos += len;
        }
        return out;
    }

    // -------------------------------------------------------------------------------------- resync

    @Override
    public long resyncUnits() {
        return stripes;
    }

    @Override
    public int resync(long stripe) throws IOException {
        ReentrantLock lock = locks.forStripe(stripe);
        lock.lock();
        try {
            if (!allUsable()) {
                return 0; // nothing to compare against; degraded arrays rely on the data as it stands
            }
            Stripe st = load(stripe, 0, chunkBytes, -1);
            int pDisk = layout.pDisk(stripe);
            int qDisk = layout.qDisk(stripe);
            Scratch scratch = Scratch.get();
            byte[] p = scratch.spareA(chunkBytes);
            byte[] q = scratch.spareB(chunkBytes);
            if (qDisk >= 0) {
                kernel.pq(st.syn, k, p, q, 0, chunkBytes);
            } else {
                kernel.p(st.syn, k, p, 0, chunkBytes);
            }
            IoBatch writes = new IoBatch();
            int rewritten = 0;
            if (!java.util.Arrays.equals(p, 0, chunkBytes, st.blocks[pDisk], 0, chunkBytes)) {
                writes.write(members.get(pDisk), memberOffset(stripe, 0), ByteBuffer.wrap(p, 0, chunkBytes));
                rewritten++;
            }
            if (qDisk >= 0 && !java.util.Arrays.equals(q, 0, chunkBytes, st.blocks[qDisk], 0, chunkBytes)) {
                writes.write(members.get(qDisk), memberOffset(stripe, 0), ByteBuffer.wrap(q, 0, chunkBytes));
                rewritten++;
            }
            members.failMembers(writes.await(members.timeoutNs()));
            repair(st);
            return rewritten;
        } finally {
            lock.unlock();
        }
    }
}
