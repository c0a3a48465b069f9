package io.raidd.raid.volume;

import io.raidd.blockdev.Extent;
import io.raidd.raid.layout.MirrorLayout;
import io.raidd.raid.member.CorruptBlockException;
import io.raidd.raid.member.IoBatch;
import io.raidd.raid.member.Member;
import io.raidd.raid.member.MemberLifecycle;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * RAID-0, RAID-1 and RAID-10: every volume chunk has one or more copies. Reads go to one readable
 * copy and fall back to the others; a copy that failed to read is rewritten from a good one. Writes
 * go to every writable copy under the chunk's lock, so concurrent writers cannot leave copies
 * different.
 *
 * <p>With a single copy (RAID-0) there is nothing to fall back on: errors go to the caller and
 * members are never failed, as in md.
 */
final class MirrorEngine implements VolumeEngine {
    private static final System.Logger LOG = System.getLogger("io.raidd.raid");

    private final MirrorStripes s;
    private final String arrayName;
    private final int copies;
    private final MemberLifecycle members;

    MirrorEngine(String arrayName, MirrorLayout layout, int chunkBytes, long volumeSizeBytes, MemberLifecycle members) {
        this.s = new MirrorStripes(arrayName, layout, chunkBytes, volumeSizeBytes, members);
        this.arrayName = arrayName;
        this.copies = layout.copies();
        this.members = members;
    }

    @Override
    public void read(long offsetBytes, ByteBuffer dst) throws IOException {
        int base = dst.position();
        int length = dst.remaining();
        List<Piece> pieces = Piece.split(offsetBytes, length, s.chunkBytes);
        IoBatch batch = new IoBatch();
        IoBatch.Op[] ops = new IoBatch.Op[pieces.size()];
        StripeView view = s.view();
        for (int i = 0; i < ops.length; i++) {
            Piece p = pieces.get(i);
            for (int c = 0; c < copies; c++) {
                int copy = (s.preferredCopy(p.chunk()) + c) % copies;
                if (s.copyReadable(view, p.chunk(), copy)) {
                    ops[i] = batch.readInto(
                            s.copyReader(view, p.chunk(), copy),
                            s.memberOffset(p, copy),
                            dst.slice(base + p.bufferOffsetBytes(), p.lengthBytes()));
                    break;
                }
            }
        }
        List<IoBatch.Op> failed = batch.await(members.timeoutNs());
        if (copies > 1) {
            members.failMembers(failed);
        }
        for (int i = 0; i < ops.length; i++) {
            if (ops[i] == null || ops[i].failed()) {
                Piece p = pieces.get(i);
                readOtherCopies(p, dst.slice(base + p.bufferOffsetBytes(), p.lengthBytes()), ops[i]);
            }
        }
        dst.position(base + length);
    }

    /** The direct read path from the preferred readable copy's memory; see {@link #read}. */
    @Override
    public boolean readIfCached(long offsetBytes, ByteBuffer dst) {
        int base = dst.position();
        StripeView view = s.view();
        for (Piece p : Piece.split(offsetBytes, dst.remaining(), s.chunkBytes)) {
            boolean served = false;
            for (int c = 0; c < copies; c++) {
                int copy = (s.preferredCopy(p.chunk()) + c) % copies;
                if (s.copyReadable(view, p.chunk(), copy)) {
                    served = s.copyReader(view, p.chunk(), copy)
                            .readIfCached(
                                    s.memberOffset(p, copy), dst.slice(base + p.bufferOffsetBytes(), p.lengthBytes()));
                    break;
                }
            }
            if (!served) {
                return false;
            }
        }
        dst.position(dst.limit());
        return true;
    }

    /** Reads a piece from any copy that works, then rewrites the copies that failed to read. */
    private void readOtherCopies(Piece p, ByteBuffer dst, IoBatch.Op failedRead) throws IOException {
        if (copies == 1) {
            Member m = s.copyMember(s.view(), p.chunk(), 0);
            throw new IOException(
                    "array " + arrayName + ": " + m.name() + ": "
                            + (failedRead == null ? m.state().label() : failedRead.describe()),
                    failedRead == null ? null : failedRead.failure);
        }
        try (StripeAccess.StripeLock lock = s.locks.lock(p.chunk())) {
            StripeView view = s.view();
            boolean[] bad = new boolean[copies];
            if (failedRead != null) {
                LOG.log(
                        Level.INFO,
                        "array {0}: {1}: {2}; trying other copies",
                        arrayName,
                        failedRead.member.name(),
                        failedRead.describe());
                if (failedRead.failure instanceof CorruptBlockException corrupt && p.lengthBytes() > BLOCK_BYTES) {
                    // Each copy may be bad in other blocks of the piece: served block by block, the
                    // failed copy counted bad only in its bad blocks.
                    // Whole blocks, so that a repair rewrites every bad block in full.
                    long[] badRanges = corrupt.rangesWithin(failedRead.offsetBytes, p.lengthBytes());
                    ByteBuffer block = ByteBuffer.allocate(BLOCK_BYTES);
                    for (int in = p.inChunkBytes() / BLOCK_BYTES * BLOCK_BYTES; in < p.endInChunkBytes(); ) {
                        int len = Math.min(BLOCK_BYTES, s.chunkBytes - in);
                        int at = in - p.inChunkBytes(); // may be negative for the first block
                        boolean[] badHere = new boolean[copies];
                        for (int r = 0; r < badRanges.length; r += 2) {
                            if (at < badRanges[r + 1] && at + len > badRanges[r]) {
                                for (int c = 0; c < copies; c++) {
                                    badHere[c] |= s.copyReader(view, p.chunk(), c) == failedRead.member;
                                }
                            }
                        }
                        serveFromCopies(
                                view,
                                new Piece(p.chunk(), in, len, 0),
                                block.clear().limit(len),
                                badHere);
                        int from = Math.max(in, p.inChunkBytes());
                        int to = Math.min(in + len, p.endInChunkBytes());
                        dst.put(from - p.inChunkBytes() + dst.position(), block, from - in, to - from);
                        in += len;
                    }
                    return;
                }
                for (int c = 0; c < copies; c++) {
                    bad[c] = s.copyReader(view, p.chunk(), c) == failedRead.member && !failedRead.timedOut;
                }
            }
            serveFromCopies(view, p, dst, bad);
        }
    }

    private static final int BLOCK_BYTES = io.raidd.raid.md.TagBlockDescriptor.TAGGED_BYTES;

    /**
     * Reads {@code p} from the first copy that is not known {@code bad} and reads, then rewrites the
     * copies that failed (md's read-error correction). Under the chunk's lock.
     */
    private void serveFromCopies(StripeView view, Piece p, ByteBuffer dst, boolean[] bad) throws IOException {
        {
            int good = -1;
            for (int c = 0; c < copies && good < 0; c++) {
                if (bad[c] || !s.copyReadable(view, p.chunk(), c)) {
                    continue;
                }
                Member m = s.copyReader(view, p.chunk(), c);
                IoBatch one = new IoBatch();
                IoBatch.Op op = one.readInto(m, s.memberOffset(p, c), dst.duplicate());
                List<IoBatch.Op> failed = one.await(members.timeoutNs());
                members.failMembers(failed);
                if (op.failed()) {
                    bad[c] = !op.timedOut;
                    LOG.log(Level.INFO, "array {0}: {1}: {2}", arrayName, m.name(), op.describe());
                } else {
                    good = c;
                }
            }
            if (good < 0) {
                throw new IOException("array " + arrayName + ": no readable copy of volume chunk " + p.chunk());
            }
            IoBatch repairs = new IoBatch();
            for (int c = 0; c < copies; c++) {
                if (bad[c] && s.copyWritable(view, p.chunk(), c)) {
                    view.write(repairs, s.disk(p.chunk(), c), s.memberOffset(p, c), dst.duplicate());
                }
            }
            try {
                members.failMembers(repairs.await(members.timeoutNs()));
            } catch (io.raidd.blockdev.NoSpaceException e) {
                // The read is served all the same; the copy stays unreadable until space is back.
                LOG.log(Level.WARNING, "array {0}: cannot rewrite an unreadable copy: {1}", arrayName, e.getMessage());
                return;
            }
            for (int c = 0; c < copies; c++) {
                Member m = s.copyReader(view, p.chunk(), c);
                if (bad[c] && m != null && m.live()) {
                    m.noteCorrectedRead();
                    LOG.log(
                            Level.INFO,
                            "array {0}: rewrote {1} bytes on {2} (read error corrected)",
                            arrayName,
                            p.lengthBytes(),
                            m.name());
                }
            }
        }
    }

    @Override
    public void write(long offsetBytes, ByteBuffer src) throws IOException {
        int base = src.position();
        for (Piece p : Piece.split(offsetBytes, src.remaining(), s.chunkBytes)) {
            ByteBuffer piece = src.slice(base + p.bufferOffsetBytes(), p.lengthBytes());
            onEveryCopy(p, (batch, m, off) -> batch.write(m, off, piece.duplicate()));
        }
        src.position(src.limit());
    }

    @Override
    public void writeZeroes(long offsetBytes, long lengthBytes) throws IOException {
        zero(offsetBytes, lengthBytes);
    }

    /** Zeroes rather than discards, so that copies cannot differ afterwards. */
    @Override
    public void discard(long offsetBytes, long lengthBytes) throws IOException {
        zero(offsetBytes, lengthBytes);
    }

    private void zero(long offsetBytes, long lengthBytes) throws IOException {
        long pos = offsetBytes;
        long end = offsetBytes + lengthBytes;
        while (pos < end) {
            long chunk = pos / s.chunkBytes;
            int in = (int) (pos - chunk * s.chunkBytes);
            int len = (int) Math.min(end - pos, s.chunkBytes - in);
            Piece p = new Piece(chunk, in, len, 0);
            onEveryCopy(p, (batch, m, off) -> batch.writeZeroes(m, off, len));
            pos += len;
        }
    }

    @FunctionalInterface
    private interface CopyOp {
        void issue(IoBatch batch, Member member, long memberOffsetBytes);
    }

    private void onEveryCopy(Piece p, CopyOp op) throws IOException {
        try (StripeAccess.StripeLock lock = s.locks.lock(p.chunk())) {
            StripeView view = s.view();
            IoBatch batch = new IoBatch();
            for (int c = 0; c < copies; c++) {
                for (Member m : view.writers(s.disk(p.chunk(), c))) {
                    op.issue(batch, m, s.memberOffset(p, c));
                }
            }
            List<IoBatch.Op> failed = batch.await(members.timeoutNs());
            if (copies == 1) {
                if (!failed.isEmpty()) {
                    IoBatch.Op f = failed.get(0);
                    throw new IOException(
                            "array " + arrayName + ": " + f.member.name() + ": " + f.describe(), f.failure);
                }
                if (batch.isEmpty()) {
                    throw new IOException(
                            "array " + arrayName + ": " + s.copyMember(view, p.chunk(), 0) + " is unavailable");
                }
                return;
            }
            members.failMembers(failed);
            // The write counts when a copy that holds current data took it.
            StripeView after = s.view();
            for (int c = 0; c < copies; c++) {
                if (s.copyReadable(after, p.chunk(), c)) {
                    return;
                }
            }
            throw new IOException("array " + arrayName + ": every copy of volume chunk " + p.chunk() + " has failed");
        }
    }

    @Override
    public List<Extent> allocation(long offsetBytes, long lengthBytes) throws IOException {
        List<Extent> out = new ArrayList<>();
        long pos = offsetBytes;
        long end = offsetBytes + lengthBytes;
        int budget = 4096; // member queries per call; the caller asks again from where we stop
        StripeView view = s.view();
        while (pos < end && budget-- > 0) {
            long chunk = pos / s.chunkBytes;
            int in = (int) (pos - chunk * s.chunkBytes);
            long len = Math.min(end - pos, s.chunkBytes - in);
            Piece p = new Piece(chunk, in, (int) len, 0);
            Member m = null;
            int copy = 0;
            for (int c = 0; c < copies && m == null; c++) {
                m = s.copyReader(view, chunk, c);
                copy = c;
            }
            Extents.appendMemberRange(out, m, pos, m == null ? 0 : s.memberOffset(p, copy), len);
            pos += len;
        }
        return out;
    }

    @Override
    public boolean complete() {
        return s.complete();
    }

    @Override
    public StripeAccess stripes() {
        return s;
    }
}
