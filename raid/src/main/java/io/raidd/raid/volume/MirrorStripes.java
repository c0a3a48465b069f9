package io.raidd.raid.volume;

import io.raidd.raid.layout.MirrorLayout;
import io.raidd.raid.member.IoBatch;
import io.raidd.raid.member.Member;
import io.raidd.raid.member.MemberLifecycle;
import io.raidd.raid.member.Scratch;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * RAID-0/1/10 volume chunks as units: where each copy lives, the view that says which copies may be
 * read and written, and stripe-level access for background work (a "stripe" is one volume chunk,
 * its positions are the copies). RAID-0 has one copy and nothing to resync or rebuild.
 */
final class MirrorStripes implements StripeAccess {
    final String arrayName;
    final MirrorLayout layout;
    final int chunkBytes;
    final int copies;
    final long chunks;
    final long volumeSizeBytes;
    final MemberLifecycle members;
    final StripeLocks locks = new StripeLocks();

    MirrorStripes(
            String arrayName, MirrorLayout layout, int chunkBytes, long volumeSizeBytes, MemberLifecycle members) {
        this.arrayName = arrayName;
        this.layout = layout;
        this.chunkBytes = chunkBytes;
        this.copies = layout.copies();
        this.chunks = (volumeSizeBytes + chunkBytes - 1) / chunkBytes;
        this.volumeSizeBytes = volumeSizeBytes;
        this.members = members;
    }

    /** Where copy {@code copy} of the piece's bytes start on its member. */
    long memberOffset(Piece p, int copy) {
        return layout.memberChunk(p.chunk(), copy) * chunkBytes + p.inChunkBytes();
    }

    int disk(long chunk, int copy) {
        return layout.disk(chunk, copy);
    }

    /** End of copy {@code copy}'s chunk on its member: it is readable once a rebuild has passed it. */
    long copyEndBytes(long chunk, int copy) {
        return (layout.memberChunk(chunk, copy) + 1) * chunkBytes;
    }

    StripeView view() {
        return new StripeView(members.roster(), Long.MAX_VALUE);
    }

    boolean copyReadable(StripeView view, long chunk, int copy) {
        return view.readable(disk(chunk, copy), copyEndBytes(chunk, copy));
    }

    boolean copyWritable(StripeView view, long chunk, int copy) {
        return view.writable(disk(chunk, copy));
    }

    /** The member to read copy {@code copy} from, or null when no member holds it current. */
    Member copyReader(StripeView view, long chunk, int copy) {
        return view.reader(disk(chunk, copy), copyEndBytes(chunk, copy));
    }

    /** The slot's primary member, for messages. */
    Member copyMember(StripeView view, long chunk, int copy) {
        return view.member(disk(chunk, copy));
    }

    /** Spreads reads of consecutive chunks over the copies. */
    int preferredCopy(long chunk) {
        return (int) (chunk % copies);
    }

    int chunkLength(long chunk) {
        return (int) Math.min(chunkBytes, volumeSizeBytes - chunk * chunkBytes);
    }

    boolean complete() {
        return members.complete();
    }

    // ---------------------------------------------------------------------------- StripeAccess

    @Override
    public long stripeCount() {
        return copies > 1 ? chunks : 0;
    }

    @Override
    public StripeLock lock(long chunk) {
        return locks.lock(chunk);
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
        long used = members.geometry().memberUsedBytes();
        return (used + chunkBytes - 1) / chunkBytes;
    }

    @Override
    public long stripeAt(int slot, long memberChunk) {
        long found = layout.locate(slot, memberChunk, chunks);
        return found < 0 ? -1 : found / copies;
    }

    @Override
    public int positionOf(long chunk, int slot) {
        for (int c = 0; c < copies; c++) {
            if (disk(chunk, c) == slot) {
                return c;
            }
        }
        throw new IllegalArgumentException("volume chunk " + chunk + " has no copy on slot " + slot);
    }

    @Override
    public long stripeOfVolumeOffset(long volumeOffsetBytes) {
        return volumeOffsetBytes / chunkBytes;
    }

    @Override
    public long[] volumeRange(long chunk) {
        return new long[] {chunk * chunkBytes, chunkLength(chunk)};
    }

    /** RAID-1 keeps every copy at the same member offset; RAID-10 does not. */
    private boolean copiesShareOffsets() {
        return copies == members.geometry().raidDisks();
    }

    @Override
    public long holeChunks(long memberChunk, long maxChunks, java.util.Collection<Member> targets) throws IOException {
        long max = Math.min(maxChunks, chunks - memberChunk);
        if (!copiesShareOffsets() || copies < 2 || max <= 0) {
            return 0;
        }
        return HoleRuns.holeChunks(view(), chunkBytes, memberChunk, max, targets, 1);
    }

    @Override
    public long nextHoleChunk(long memberChunk, java.util.Collection<Member> targets) throws IOException {
        if (!copiesShareOffsets() || copies < 2) {
            return memberChunk + 1;
        }
        return HoleRuns.nextHoleChunk(view(), chunkBytes, memberChunk, memberChunks(), targets);
    }

    @Override
    public void zeroChunks(long memberChunk, long count, java.util.Collection<Member> targets) throws IOException {
        HoleRuns.zero(members, chunkBytes, memberChunk, count, targets);
    }

    @Override
    public LoadedStripe load(long chunk) throws IOException {
        return load(chunk, Member.Verify.AS_CONFIGURED);
    }

    @Override
    public LoadedStripe load(long chunk, Member.Verify verify) throws IOException {
        int len = chunkLength(chunk);
        StripeView view = view();
        byte[][] blocks = Scratch.get().blocks(copies, len);
        int[] slots = new int[copies];
        long[] offsets = new long[copies];
        Piece p = new Piece(chunk, 0, len, 0);
        for (int c = 0; c < copies; c++) {
            slots[c] = disk(chunk, c);
            offsets[c] = memberOffset(p, c);
        }
        LoadedStripe st = new LoadedStripe(chunk, len, blocks, slots, offsets, view);
        IoBatch reads = new IoBatch();
        IoBatch.Op[] ops = new IoBatch.Op[copies];
        for (int c = 0; c < copies; c++) {
            if (copyReadable(view, chunk, c)) {
                ops[c] = reads.read(copyReader(view, chunk, c), offsets[c], ByteBuffer.wrap(blocks[c], 0, len), verify);
            }
        }
        members.failMembers(reads.await(members.timeoutNs()));
        for (int c = 0; c < copies; c++) {
            st.unreadable[c] = ops[c] == null || ops[c].failed();
        }
        return st;
    }

    private int firstReadable(LoadedStripe st) {
        for (int c = 0; c < copies; c++) {
            if (!st.unreadable[c]) {
                return c;
            }
        }
        return -1;
    }

    @Override
    public void regenerate(LoadedStripe st) throws IOException {
        int source = firstReadable(st);
        if (source < 0) {
            throw new IOException("array " + arrayName + ": no readable copy of volume chunk " + st.stripe);
        }
        for (int c = 0; c < copies; c++) {
            if (st.unreadable[c]) {
                System.arraycopy(st.blocks[source], 0, st.blocks[c], 0, st.lengthBytes);
            }
        }
    }

    @Override
    public int[] reconcile(LoadedStripe st) {
        int source = firstReadable(st);
        if (source < 0) {
            return new int[0];
        }
        int len = st.lengthBytes;
        int[] out = new int[copies];
        int count = 0;
        for (int c = 0; c < copies; c++) {
            if (c != source
                    && st.view.writable(st.slots[c])
                    && (st.unreadable[c] || !Arrays.equals(st.blocks[c], 0, len, st.blocks[source], 0, len))) {
                System.arraycopy(st.blocks[source], 0, st.blocks[c], 0, len);
                out[count++] = c;
            }
        }
        return Arrays.copyOf(out, count);
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
