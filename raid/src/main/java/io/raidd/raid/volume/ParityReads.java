package io.raidd.raid.volume;

import io.raidd.raid.member.CorruptBlockException;
import io.raidd.raid.member.IoBatch;
import io.raidd.raid.member.Member;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * The RAID-4/5/6 read path: data chunks straight from their members, and a reconstruction (with
 * md's read-error correction) for a piece whose member cannot be read. Reads take no stripe lock
 * unless they reconstruct.
 */
final class ParityReads {
    private static final System.Logger LOG = System.getLogger("io.raidd.raid");

    private final ParityStripes s;

    ParityReads(ParityStripes stripes) {
        this.s = stripes;
    }

    void read(long offsetBytes, ByteBuffer dst) throws IOException {
        int base = dst.position();
        int length = dst.remaining();
        List<Piece> pieces = Piece.split(offsetBytes, length, s.chunkBytes);
        IoBatch batch = new IoBatch();
        IoBatch.Op[] ops = new IoBatch.Op[pieces.size()];
        for (int i = 0; i < ops.length; i++) {
            Piece p = pieces.get(i);
            long stripe = s.stripeOf(p);
            int disk = s.layout.dataDisk(stripe, s.dataIndexOf(p));
            ops[i] = s.view(stripe)
                    .readInto(
                            batch,
                            disk,
                            s.memberOffset(stripe, p.inChunkBytes()),
                            dst.slice(base + p.bufferOffsetBytes(), p.lengthBytes()));
        }
        s.members.failMembers(batch.await(s.members.timeoutNs()));
        for (int i = 0; i < ops.length; i++) {
            if (ops[i] == null || ops[i].failed()) {
                Piece p = pieces.get(i);
                reconstructRead(p, dst.slice(base + p.bufferOffsetBytes(), p.lengthBytes()), ops[i]);
            }
        }
        dst.position(base + length);
    }

    /**
     * The data chunks from their members' memory; false when any piece's member cannot be read for
     * its stripe (a reconstruction is left to the blocking path) or is not in memory.
     */
    boolean readIfCached(long offsetBytes, ByteBuffer dst) {
        int base = dst.position();
        for (Piece p : Piece.split(offsetBytes, dst.remaining(), s.chunkBytes)) {
            long stripe = s.stripeOf(p);
            int disk = s.layout.dataDisk(stripe, s.dataIndexOf(p));
            Member m = s.view(stripe).reader(disk);
            if (m == null
                    || !m.readIfCached(
                            s.memberOffset(stripe, p.inChunkBytes()),
                            dst.slice(base + p.bufferOffsetBytes(), p.lengthBytes()))) {
                return false;
            }
        }
        dst.position(dst.limit());
        return true;
    }

    /** Serves a piece whose member is not readable or could not read it, and repairs the member. */
    private static final int BLOCK = io.raidd.raid.md.TagBlockDescriptor.TAGGED_BYTES;

    private void reconstructRead(Piece p, ByteBuffer dst, IoBatch.Op failedRead) throws IOException {
        long stripe = s.stripeOf(p);
        int disk = s.layout.dataDisk(stripe, s.dataIndexOf(p));
        try (StripeAccess.StripeLock lock = s.locks.lock(stripe)) {
            StripeView view = s.view(stripe);
            if (failedRead != null && !failedRead.timedOut) {
                LOG.log(
                        Level.INFO,
                        "array {0}: {1}: {2}; reconstructing",
                        s.arrayName,
                        failedRead.member.name(),
                        failedRead.describe());
            }
            // A member that failed only its integrity check is read again: its good blocks count.
            boolean suspect = failedRead != null && !(failedRead.failure instanceof CorruptBlockException);
            // Whole 4 KiB blocks: a repair rewrites (and retags) every block it touches in full, never
            // part of a bad block over the rest of it.
            int lo = p.inChunkBytes() / BLOCK * BLOCK;
            int hi = Math.min(s.chunkBytes, (p.endInChunkBytes() + BLOCK - 1) / BLOCK * BLOCK);
            LoadedStripe st = s.loadHull(stripe, lo, hi, suspect ? disk : -1, view);
            s.regenerateUnreadable(st);
            dst.put(st.blocks[disk], p.inChunkBytes() - lo, p.lengthBytes());
            s.repair(st);
        }
    }
}
