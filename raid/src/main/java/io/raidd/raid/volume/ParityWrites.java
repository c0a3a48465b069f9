package io.raidd.raid.volume;

import io.raidd.raid.member.IoBatch;
import io.raidd.raid.member.MemberLifecycle;
import io.raidd.raid.member.Scratch;
import io.raidd.raid.parity.BufferParity;
import io.raidd.raid.parity.GaloisField;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * The RAID-4/5/6 write strategies, chosen per stripe under its lock from one {@link StripeView}:
 * full-stripe (parity from the new data alone), read-modify-write or reconstruct-write (whichever
 * reads fewer bytes), and the general path that loads the whole hull and regenerates what cannot be
 * read. Work on one stripe covers its "hull": the smallest member byte range {@code [lo, hi)}
 * inside the chunk that covers every touched piece; parity is always computed over the whole hull,
 * so P and Q stay consistent byte for byte.
 */
final class ParityWrites {
    private static final System.Logger LOG = System.getLogger("io.raidd.raid");

    /**
     * Full-stripe parity is computed this many bytes at a time, so what a pass writes is still in the
     * core's cache when the next pass reads it (RAID-6: the data's heap copies; RAID-5 with more than
     * four data disks: P between its folding passes), instead of a whole stripe (megabytes) being
     * written to memory and read back.
     */
    static final int PARITY_WINDOW_BYTES = 64 * 1024;

    private final ParityStripes s;
    private final MemberLifecycle members;
    private final int k;
    private final int n;
    private final ByteBuffer zeroChunk;

    ParityWrites(ParityStripes stripes) {
        this.s = stripes;
        this.members = stripes.members;
        this.k = stripes.k;
        this.n = stripes.n;
        this.zeroChunk = ByteBuffer.allocateDirect(stripes.chunkBytes).asReadOnlyBuffer();
    }

    /**
     * Writes stripe by stripe. The bytes of one stripe may come from several caller buffers (adjacent
     * requests combined), which is how half-stripe requests become full-stripe writes that need no
     * reads.
     */
    void writeGathered(long offsetBytes, Gather src) throws IOException {
        List<Piece> pieces = Piece.split(offsetBytes, src.lengthBytes(), s.chunkBytes);
        int from = 0;
        while (from < pieces.size()) {
            long stripe = s.stripeOf(pieces.get(from));
            int to = from + 1;
            while (to < pieces.size() && s.stripeOf(pieces.get(to)) == stripe) {
                to++;
            }
            writeStripe(stripe, pieces.subList(from, to), src);
            from = to;
        }
        src.consume();
    }

    private void writeStripe(long stripe, List<Piece> pieces, Gather src) throws IOException {
        int lo = s.chunkBytes;
        int hi = 0;
        for (Piece p : pieces) {
            lo = Math.min(lo, p.inChunkBytes());
            hi = Math.max(hi, p.endInChunkBytes());
        }
        try (StripeAccess.StripeLock lock = s.locks.lock(stripe)) {
            StripeWrite w = new StripeWrite(stripe, lo, hi, pieces, src, s.view(stripe));
            if (w.coversAllData()) {
                writeFull(w);
            } else if (s.dataReadable(w.view, stripe)) {
                int unreadable = w.rmwReadBytes() < w.rcwReadBytes() ? readModifyWrite(w) : reconstructWrite(w);
                if (unreadable >= 0) {
                    writeReconstructing(w, unreadable);
                }
            } else {
                writeReconstructing(w, -1);
            }
        }
        s.checkAlive();
    }

    /** The pieces of one request that fall in one stripe, the stripe's hull, and its view. */
    private final class StripeWrite {
        final long stripe;
        final int lo;
        final int hi;
        final Piece[] byDataIndex = new Piece[k];
        final Gather src;
        final StripeView view;

        StripeWrite(long stripe, int lo, int hi, List<Piece> pieces, Gather src, StripeView view) {
            this.stripe = stripe;
            this.lo = lo;
            this.hi = hi;
            this.src = src;
            this.view = view;
            for (Piece p : pieces) {
                byDataIndex[s.dataIndexOf(p)] = p;
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
            int readableParity = (s.readableParity(view, s.layout.pDisk(stripe)) >= 0 ? 1 : 0)
                    + (s.readableParity(view, s.layout.qDisk(stripe)) >= 0 ? 1 : 0);
            if (readableParity == 0) {
                return 0; // nothing to update: the data writes are all there is
            }
            long bytes = (long) readableParity * hullBytes();
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
         * Writes the piece's new bytes to the members of {@code slot} from the caller's buffers: one
         * operation per member, gathering every buffer the piece spans.
         */
        void issueWrite(IoBatch batch, int slot, Piece p) {
            view.write(
                    batch,
                    slot,
                    s.memberOffset(stripe, p.inChunkBytes()),
                    src.views(p.bufferOffsetBytes(), p.lengthBytes()));
        }

        /** Copies the piece's new bytes into a hull-relative block. */
        void copyInto(Piece p, byte[] block) {
            src.copyTo(p.bufferOffsetBytes(), block, p.inChunkBytes() - lo, p.lengthBytes());
        }
    }

    /**
     * Every data chunk is covered over the hull: parity comes from the new data alone. The data
     * goes to the members straight from the caller's buffers.
     */
    private void writeFull(StripeWrite w) throws IOException {
        int len = w.hullBytes();
        Scratch scratch = Scratch.get();
        IoBatch batch = new IoBatch();
        issueDataWrites(w, batch);
        if (s.parityCount == 1) {
            ByteBuffer p = scratch.directParity(len);
            pFromBuffers(w, p, len);
            issueParityWrites(w, p, null, batch);
        } else {
            byte[] p = scratch.spareA(len);
            byte[] q = scratch.spareB(len);
            pqFromCopies(w, p, q, len);
            issueParityWrites(w, ByteBuffer.wrap(p, 0, len), ByteBuffer.wrap(q, 0, len), batch);
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
                w.src.copyTo(piece.bufferOffsetBytes() + off, syn[s.layout.syndromeIndex(w.stripe, i)], 0, length);
            }
            s.computeParity(syn, length);
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
        int pDisk = s.readableParity(w.view, s.layout.pDisk(w.stripe));
        int qDisk = s.readableParity(w.view, s.layout.qDisk(w.stripe));
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
                int d = s.layout.dataDisk(w.stripe, i);
                w.view.read(
                        reads,
                        d,
                        s.memberOffset(w.stripe, p.inChunkBytes()),
                        ByteBuffer.wrap(blocks[d], p.inChunkBytes() - w.lo, p.lengthBytes()));
            }
        }
        if (pDisk >= 0) {
            w.view.read(reads, pDisk, s.memberOffset(w.stripe, w.lo), ByteBuffer.wrap(blocks[pDisk], 0, len));
        }
        if (qDisk >= 0) {
            w.view.read(reads, qDisk, s.memberOffset(w.stripe, w.lo), ByteBuffer.wrap(blocks[qDisk], 0, len));
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
            byte[] delta = blocks[s.layout.dataDisk(w.stripe, i)];
            int off = piece.inChunkBytes() - w.lo;
            w.copyInto(piece, fresh);
            s.kernel.xorInto(fresh, delta, off, piece.lengthBytes());
            if (p != null) {
                s.kernel.xorInto(delta, p, off, piece.lengthBytes());
            }
            if (q != null) {
                s.kernel.mulXorInto(
                        GaloisField.pow2(s.layout.syndromeIndex(w.stripe, i)), delta, q, off, piece.lengthBytes());
            }
        }
        IoBatch writes = new IoBatch();
        issueDataWrites(w, writes);
        issueParityWrites(
                w,
                p != null ? ByteBuffer.wrap(p, 0, len) : null,
                q != null ? ByteBuffer.wrap(q, 0, len) : null,
                writes);
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
                int d = s.layout.dataDisk(w.stripe, i);
                w.view.read(reads, d, s.memberOffset(w.stripe, w.lo), ByteBuffer.wrap(blocks[d], 0, len));
            }
        }
        int unreadable = firstUnreadable(reads.await(members.timeoutNs()));
        if (unreadable >= 0) {
            return unreadable;
        }
        for (int i = 0; i < k; i++) {
            Piece p = w.byDataIndex[i];
            if (p != null) {
                w.copyInto(p, blocks[s.layout.dataDisk(w.stripe, i)]);
            }
        }
        s.computeParity(s.syndromeView(w.stripe, blocks, len), len);
        IoBatch writes = new IoBatch();
        issueDataWrites(w, writes);
        issueParityWrites(w, len, blocks, writes);
        members.failMembers(writes.await(members.timeoutNs()));
        return -1;
    }

    /**
     * The general path: load the whole hull from every readable member, regenerate what is missing,
     * overlay the new bytes, recompute parity, and write every writable member that changed, plus
     * every writable member that could not be read (its hull is rewritten, which repairs it).
     */
    private void writeReconstructing(StripeWrite w, int suspect) throws IOException {
        LoadedStripe st = s.loadHull(w.stripe, w.lo, w.hi, suspect, w.view);
        s.regenerateUnreadable(st);
        int len = w.hullBytes();
        for (int i = 0; i < k; i++) {
            Piece p = w.byDataIndex[i];
            if (p != null) {
                w.copyInto(p, st.blocks[s.layout.dataDisk(w.stripe, i)]);
            }
        }
        s.computeParity(ParityStripes.syn(st), len);
        IoBatch writes = new IoBatch();
        for (int i = 0; i < k; i++) {
            int d = s.layout.dataDisk(w.stripe, i);
            if (!w.view.writable(d)) {
                continue;
            }
            if (st.unreadable[d]) {
                w.view.write(writes, d, s.memberOffset(w.stripe, w.lo), ByteBuffer.wrap(st.blocks[d], 0, len));
            } else if (w.byDataIndex[i] != null) {
                w.issueWrite(writes, d, w.byDataIndex[i]);
            }
        }
        issueParityWrites(w, len, st.blocks, writes);
        members.failMembers(writes.await(members.timeoutNs()));
        s.noteRepairs(st);
    }

    private void issueDataWrites(StripeWrite w, IoBatch batch) {
        for (int i = 0; i < k; i++) {
            Piece p = w.byDataIndex[i];
            if (p != null) {
                int d = s.layout.dataDisk(w.stripe, i);
                if (w.view.writable(d)) {
                    w.issueWrite(batch, d, p);
                }
            }
        }
    }

    private void issueParityWrites(StripeWrite w, int len, byte[][] blocks, IoBatch batch) {
        int qDisk = s.layout.qDisk(w.stripe);
        issueParityWrites(
                w,
                ByteBuffer.wrap(blocks[s.layout.pDisk(w.stripe)], 0, len),
                qDisk >= 0 ? ByteBuffer.wrap(blocks[qDisk], 0, len) : null,
                batch);
    }

    /**
     * Writes P (and Q) over the hull, from each buffer's remaining bytes, to the parity members the
     * view can write; a null buffer leaves that parity alone (a read-modify-write that could not read
     * it has nothing to write there).
     */
    private void issueParityWrites(StripeWrite w, ByteBuffer p, ByteBuffer q, IoBatch batch) {
        int pDisk = s.layout.pDisk(w.stripe);
        if (p != null && w.view.writable(pDisk)) {
            w.view.write(batch, pDisk, s.memberOffset(w.stripe, w.lo), p);
        }
        int qDisk = s.layout.qDisk(w.stripe);
        if (q != null && qDisk >= 0 && w.view.writable(qDisk)) {
            w.view.write(batch, qDisk, s.memberOffset(w.stripe, w.lo), q);
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
            LOG.log(Level.INFO, "array {0}: {1}: {2}; reconstructing", s.arrayName, op.member.name(), op.describe());
        }
        return op.member.slot();
    }

    // --------------------------------------------------------------------------- zeroing, discard

    /**
     * Whole stripes are zeroed on every writable member (zero data has zero P and Q, so no parity
     * work); partial stripes at the ends go through the write path when zeroes are required, and are
     * skipped for a discard.
     */
    void zeroRange(long offsetBytes, long lengthBytes, boolean partialsToo) throws IOException {
        long stripeBytes = (long) k * s.chunkBytes;
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
        for (long stripe = firstFull; stripe < lastFull; stripe++) {
            try (StripeAccess.StripeLock lock = s.locks.lock(stripe)) {
                StripeView view = s.view(stripe);
                IoBatch batch = new IoBatch();
                for (int d = 0; d < n; d++) {
                    if (view.writable(d)) {
                        view.writeZeroes(batch, d, s.memberOffset(stripe, 0), s.chunkBytes);
                    }
                }
                members.failMembers(batch.await(members.timeoutNs()));
            }
            s.checkAlive();
        }
        if (partialsToo) {
            writeZeroesThroughWritePath(lastFull * stripeBytes, end);
        }
    }

    private void writeZeroesThroughWritePath(long from, long to) throws IOException {
        for (long pos = from; pos < to; ) {
            int len = (int) Math.min(to - pos, s.chunkBytes);
            writeGathered(pos, Gather.of(zeroChunk.slice(0, len)));
            pos += len;
        }
    }
}
