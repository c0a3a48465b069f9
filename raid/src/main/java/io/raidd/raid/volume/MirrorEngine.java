package io.raidd.raid.volume;

import io.raidd.blockdev.Extent;
import io.raidd.raid.layout.MirrorLayout;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

/**
 * RAID-0, RAID-1 and RAID-10: every volume chunk has one or more copies. Reads go to one copy and
 * fall back to the others; a copy that failed to read is rewritten from a good one. Writes go to
 * every usable copy under the chunk's lock, so concurrent writers cannot leave copies different.
 *
 * <p>With a single copy (RAID-0) there is nothing to fall back on: errors go to the caller and
 * members are never failed, as in md.
 */
final class MirrorEngine implements VolumeEngine {
    private static final System.Logger LOG = System.getLogger("io.raidd.raid");

    private final String arrayName;
    private final MirrorLayout layout;
    private final int chunkBytes;
    private final int copies;
    private final long chunks;
    private final long volumeSizeBytes;
    private final MemberSet members;
    private final StripeLocks locks = new StripeLocks();

    MirrorEngine(String arrayName, MirrorLayout layout, int chunkBytes, long volumeSizeBytes, MemberSet members) {
        this.arrayName = arrayName;
        this.layout = layout;
        this.chunkBytes = chunkBytes;
        this.copies = layout.copies();
        this.chunks = (volumeSizeBytes + chunkBytes - 1) / chunkBytes;
        this.volumeSizeBytes = volumeSizeBytes;
        this.members = members;
    }

    private long memberOffset(Piece p, int copy) {
        return layout.memberChunk(p.chunk(), copy) * chunkBytes + p.inChunkBytes();
    }

    private Member copyMember(long chunk, int copy) {
        return members.get(layout.disk(chunk, copy));
    }

    /** Spreads reads of consecutive chunks over the copies. */
    private int preferredCopy(long chunk) {
        return (int) (chunk % copies);
    }

    @Override
    public void read(long offsetBytes, ByteBuffer dst) throws IOException {
        int base = dst.position();
        int length = dst.remaining();
        List<Piece> pieces = Piece.split(offsetBytes, length, chunkBytes);
        IoBatch batch = new IoBatch();
        IoBatch.Op[] ops = new IoBatch.Op[pieces.size()];
        for (int i = 0; i < ops.length; i++) {
            Piece p = pieces.get(i);
            for (int c = 0; c < copies; c++) {
                int copy = (preferredCopy(p.chunk()) + c) % copies;
                Member m = copyMember(p.chunk(), copy);
                if (m.usable()) {
                    ops[i] = batch.read(
                            m, memberOffset(p, copy), dst.slice(base + p.bufferOffsetBytes(), p.lengthBytes()));
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

    /** The direct read path from the preferred usable copy's memory; see {@link #read}. */
    @Override
    public boolean viewIfCached(long offsetBytes, int lengthBytes, List<ByteBuffer> out) {
        for (Piece p : Piece.split(offsetBytes, lengthBytes, chunkBytes)) {
            boolean served = false;
            for (int c = 0; c < copies; c++) {
                int copy = (preferredCopy(p.chunk()) + c) % copies;
                Member m = copyMember(p.chunk(), copy);
                if (m.usable()) {
                    served = m.viewIfCached(memberOffset(p, copy), p.lengthBytes(), out);
                    break;
                }
            }
            if (!served) {
                return false;
            }
        }
        return true;
    }

    /** Reads a piece from any copy that works, then rewrites the copies that failed to read. */
    private void readOtherCopies(Piece p, ByteBuffer dst, IoBatch.Op failedRead) throws IOException {
        if (copies == 1) {
            Member m = copyMember(p.chunk(), 0);
            throw new IOException(
                    "array " + arrayName + ": " + m.name() + ": "
                            + (failedRead == null ? m.state().toString() : failedRead.describe()),
                    failedRead == null ? null : failedRead.failure);
        }
        ReentrantLock lock = locks.forStripe(p.chunk());
        lock.lock();
        try {
            boolean[] bad = new boolean[copies];
            if (failedRead != null) {
                LOG.log(
                        Level.INFO,
                        "array {0}: {1}: {2}; trying other copies",
                        arrayName,
                        failedRead.member.name(),
                        failedRead.describe());
                for (int c = 0; c < copies; c++) {
                    bad[c] = copyMember(p.chunk(), c) == failedRead.member && !failedRead.timedOut;
                }
            }
            int good = -1;
            for (int c = 0; c < copies && good < 0; c++) {
                Member m = copyMember(p.chunk(), c);
                if (bad[c] || !m.usable()) {
                    continue;
                }
                IoBatch one = new IoBatch();
                IoBatch.Op op = one.read(m, memberOffset(p, c), dst.duplicate());
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
                Member m = copyMember(p.chunk(), c);
                if (bad[c] && m.usable()) {
                    repairs.write(m, memberOffset(p, c), dst.duplicate());
                }
            }
            members.failMembers(repairs.await(members.timeoutNs()));
            for (int c = 0; c < copies; c++) {
                Member m = copyMember(p.chunk(), c);
                if (bad[c] && m.usable()) {
                    m.noteCorrectedRead();
                    LOG.log(
                            Level.INFO,
                            "array {0}: rewrote {1} bytes on {2} (read error corrected)",
                            arrayName,
                            p.lengthBytes(),
                            m.name());
                }
            }
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void write(long offsetBytes, ByteBuffer src) throws IOException {
        int base = src.position();
        for (Piece p : Piece.split(offsetBytes, src.remaining(), chunkBytes)) {
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
            long chunk = pos / chunkBytes;
            int in = (int) (pos - chunk * chunkBytes);
            int len = (int) Math.min(end - pos, chunkBytes - in);
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
        ReentrantLock lock = locks.forStripe(p.chunk());
        lock.lock();
        try {
            IoBatch batch = new IoBatch();
            for (int c = 0; c < copies; c++) {
                Member m = copyMember(p.chunk(), c);
                if (m.usable()) {
                    op.issue(batch, m, memberOffset(p, c));
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
                    throw new IOException("array " + arrayName + ": " + copyMember(p.chunk(), 0) + " is unavailable");
                }
                return;
            }
            members.failMembers(failed);
            for (int c = 0; c < copies; c++) {
                if (copyMember(p.chunk(), c).usable()) {
                    return;
                }
            }
            throw new IOException("array " + arrayName + ": every copy of volume chunk " + p.chunk() + " has failed");
        } finally {
            lock.unlock();
        }
    }

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
            Piece p = new Piece(chunk, in, (int) len, 0);
            Member m = null;
            int copy = 0;
            for (int c = 0; c < copies && m == null; c++) {
                if (copyMember(chunk, c).usable()) {
                    m = copyMember(chunk, c);
                    copy = c;
                }
            }
            Extents.appendMemberRange(out, m, pos, m == null ? 0 : memberOffset(p, copy), len);
            pos += len;
        }
        return out;
    }

    /** The layouts repeat with a period that divides the member count, so one period tells. */
    @Override
    public boolean complete() {
        long period = Math.min(chunks, (long) layout.raidDisks() * copies);
        for (long chunk = 0; chunk < period; chunk++) {
            boolean any = false;
            for (int c = 0; c < copies && !any; c++) {
                any = copyMember(chunk, c).usable();
            }
            if (!any) {
                return false;
            }
        }
        return true;
    }

    @Override
    public long resyncUnits() {
        return copies > 1 ? chunks : 0;
    }

    /** Copies the first usable copy of a chunk over the others where they differ. */
    @Override
    public int resync(long chunk) throws IOException {
        ReentrantLock lock = locks.forStripe(chunk);
        lock.lock();
        try {
            int len = (int) Math.min(chunkBytes, volumeSizeBytes - chunk * chunkBytes);
            Piece p = new Piece(chunk, 0, len, 0);
            byte[][] blocks = Scratch.get().blocks(copies, len);
            IoBatch reads = new IoBatch();
            IoBatch.Op[] ops = new IoBatch.Op[copies];
            for (int c = 0; c < copies; c++) {
                if (copyMember(chunk, c).usable()) {
                    ops[c] = reads.read(copyMember(chunk, c), memberOffset(p, c), ByteBuffer.wrap(blocks[c], 0, len));
                }
            }
            members.failMembers(reads.await(members.timeoutNs()));
            int source = -1;
            for (int c = 0; c < copies && source < 0; c++) {
                if (ops[c] != null && !ops[c].failed()) {
                    source = c;
                }
            }
            if (source < 0) {
                return 0;
            }
            IoBatch writes = new IoBatch();
            int rewritten = 0;
            for (int c = 0; c < copies; c++) {
                Member m = copyMember(chunk, c);
                if (c != source
                        && m.usable()
                        && (ops[c] == null
                                || ops[c].failed()
                                || !java.util.Arrays.equals(blocks[c], 0, len, blocks[source], 0, len))) {
                    writes.write(m, memberOffset(p, c), ByteBuffer.wrap(blocks[source], 0, len));
                    rewritten++;
                }
            }
            members.failMembers(writes.await(members.timeoutNs()));
            return rewritten;
        } finally {
            lock.unlock();
        }
    }
}
