package io.raidd.raid.member;

import static io.raidd.raid.md.TagBlockDescriptor.BLOCK_BYTES;
import static io.raidd.raid.md.TagBlockDescriptor.TAGGED_BYTES;
import static io.raidd.raid.md.TagBlockDescriptor.TAGS_PER_BLOCK;
import static io.raidd.raid.md.TagBlockDescriptor.UNKNOWN;

import io.raidd.blockdev.BlockDevice;
import io.raidd.raid.md.TagBlock;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.zip.CRC32C;

/**
 * The integrity tags of one member's data area (CRC32C per 4 KiB block, {@link
 * io.raidd.raid.md.TagBlockDescriptor}), kept in step with every write that reaches the member and
 * checked on reads. Offsets are relative to the data area, like {@link Member}'s.
 *
 * <ul>
 *   <li><b>Writes</b> compute the new tags from the bytes written (a block written only in part is
 *       read first and the new bytes laid over it), write the data, then record the tags, all under
 *       the lock of the blocks' region, so a concurrent write cannot leave a tag for data that is not
 *       there. A write that fails leaves its blocks' tags unknown.
 *   <li><b>Reads</b> compare each whole block with its tag. A mismatch is checked again under the
 *       region lock (a read that raced a write to the same block sees the write's tag with the old
 *       data, or the reverse), and only a mismatch that survives that is corruption: {@link
 *       CorruptBlockException}. A read of part of a block reads the whole block to check it.
 *   <li><b>Trust</b>: after an unclean stop, tags of blocks written just before it may not match
 *       (data and tag are written separately); until the resync has passed a block and recomputed
 *       its tag ({@link #retag}), it is not verified ({@link #trustBelow}).
 *   <li><b>Memory</b>: tag blocks are loaded on demand and held in the volume's {@link TagCache};
 *       dirty ones are written back on {@link #flush} (every member flush, so before the array is
 *       marked clean) or when evicted.
 * </ul>
 */
public final class IntegrityTags {
    private static final System.Logger LOG = System.getLogger("io.raidd.raid");

    /** Blocks per region lock; a write locks every region it touches. */
    private static final int REGION_BLOCKS = 16;

    private static final int LOCKS = 64;

    private final String memberName;
    private final BlockDevice device;
    private final long dataOffsetBytes;
    private final long tagsOffsetBytes;
    private final long dataBlocks;
    private final TagCache cache;
    private final ConcurrentHashMap<Long, TagPage> pages = new ConcurrentHashMap<>();
    private final ReentrantLock[] locks = new ReentrantLock[LOCKS];
    private volatile long trustedBelowBytes = Long.MAX_VALUE;
    private final AtomicLong mismatches = new AtomicLong();
    private final Set<Long> tornTagBlocks = ConcurrentHashMap.newKeySet();
    /** Blocks found corrupt and not rewritten since (data offsets). */
    private final Set<Long> corrupt = ConcurrentHashMap.newKeySet();

    private volatile Listener listener = Listener.NONE;

    /** Told when corruption is found and when a corrupt block has been rewritten. */
    public interface Listener {
        void found(long[] blockOffsetsBytes);

        void repaired(long blockOffsetBytes);

        Listener NONE = new Listener() {
            @Override
            public void found(long[] blockOffsetsBytes) {}

            @Override
            public void repaired(long blockOffsetBytes) {}
        };
    }

    public void listener(Listener listener) {
        this.listener = listener;
    }

    /** Blocks found corrupt and not rewritten since, as data offsets. */
    public List<Long> corruptBlocks() {
        List<Long> out = new ArrayList<>(corrupt);
        out.sort(null);
        return out;
    }

    /**
     * @param device the member's device
     * @param dataOffsetBytes where its data area starts on the device
     * @param dataBytes the data area's length
     * @param tagsOffsetBytes where its tags region starts on the device
     */
    public IntegrityTags(
            String memberName,
            BlockDevice device,
            long dataOffsetBytes,
            long dataBytes,
            long tagsOffsetBytes,
            TagCache cache) {
        this.memberName = memberName;
        this.device = device;
        this.dataOffsetBytes = dataOffsetBytes;
        this.tagsOffsetBytes = tagsOffsetBytes;
        this.dataBlocks = dataBytes / TAGGED_BYTES;
        this.cache = cache;
        for (int i = 0; i < LOCKS; i++) {
            locks[i] = new ReentrantLock();
        }
    }

    // ------------------------------------------------------------------------------- reading

    /**
     * Reads {@code dst.remaining()} bytes at data offset {@code offsetBytes} and, when {@code
     * verify}, checks every tagged block they touch.
     *
     * @throws CorruptBlockException when a block does not match its tag (dst's bytes unspecified)
     */
    void read(long offsetBytes, ByteBuffer dst, boolean verify) throws IOException {
        if (!verify) {
            device.read(dataOffsetBytes + offsetBytes, dst);
            return;
        }
        int length = dst.remaining();
        long end = offsetBytes + length;
        long alignedStart = offsetBytes / TAGGED_BYTES * TAGGED_BYTES;
        long alignedEnd = Math.min(roundUp(end), Math.max(end, dataBlocks * TAGGED_BYTES));
        if (alignedStart == offsetBytes && alignedEnd == end) {
            ByteBuffer data = dst.slice(dst.position(), length);
            device.read(dataOffsetBytes + offsetBytes, dst);
            verify(offsetBytes, data);
            return;
        }
        ByteBuffer whole = ByteBuffer.allocate((int) (alignedEnd - alignedStart));
        device.read(dataOffsetBytes + alignedStart, whole);
        try {
            verify(alignedStart, whole.clear());
        } finally {
            // Also when corrupt: the caller may use the good blocks (CorruptBlockException).
            dst.put(whole.position((int) (offsetBytes - alignedStart))
                    .limit((int) (offsetBytes - alignedStart + length)));
        }
    }

    /**
     * Reads like {@link #read} into {@code dst} only if every tag needed is in memory and the range
     * covers whole blocks (false otherwise, and on a mismatch: the blocking read deals with it).
     */
    boolean verifyCached(long offsetBytes, ByteBuffer data) {
        if (offsetBytes % TAGGED_BYTES != 0 || data.remaining() % TAGGED_BYTES != 0) {
            return false;
        }
        long trusted = trustedBelowBytes;
        int blocks = data.remaining() / TAGGED_BYTES;
        ByteBuffer view = data.duplicate();
        CRC32C crc = CRC.get();
        TagPage page = null;
        for (int i = 0; i < blocks; i++) {
            long block = offsetBytes / TAGGED_BYTES + i;
            if (block >= dataBlocks || block * TAGGED_BYTES >= trusted) {
                continue;
            }
            if (page == null || page.index != block / TAGS_PER_BLOCK) {
                page = pages.get(block / TAGS_PER_BLOCK);
                if (page == null) {
                    return false;
                }
                page.referenced = true;
            }
            // Read without the page's lock: a tag changing under a racing write reads as a mismatch
            // at worst, and a mismatch sends the read to the blocking path, which checks under lock.
            int expected = page.tags[(int) (block % TAGS_PER_BLOCK)];
            if (expected != UNKNOWN && expected != tagOf(view, data.position() + i * TAGGED_BYTES, crc)) {
                return false;
            }
        }
        return true;
    }

    private static final ThreadLocal<CRC32C> CRC = ThreadLocal.withInitial(CRC32C::new);

    /** {@link TagBlock#tagOf} of the block at {@code start} of {@code view}, without allocating. */
    private static int tagOf(ByteBuffer view, int start, CRC32C crc) {
        view.limit(start + TAGGED_BYTES);
        view.position(start);
        crc.reset();
        crc.update(view);
        int c = (int) crc.getValue();
        return c == UNKNOWN ? 1 : c;
    }

    /** Checks {@code data} (whole blocks from {@code offsetBytes}); rereads mismatches under their lock. */
    private void verify(long offsetBytes, ByteBuffer data) throws IOException {
        long trusted = trustedBelowBytes;
        ByteBuffer view = data.duplicate();
        CRC32C crc = CRC.get();
        int blocks = data.remaining() / TAGGED_BYTES;
        List<Integer> suspects = null;
        for (int i = 0; i < blocks; i++) {
            long block = offsetBytes / TAGGED_BYTES + i;
            if (block >= dataBlocks || block * TAGGED_BYTES >= trusted) {
                continue;
            }
            int expected = tag(block);
            if (expected != UNKNOWN && expected != tagOf(view, data.position() + i * TAGGED_BYTES, crc)) {
                if (suspects == null) {
                    suspects = new ArrayList<>(2);
                }
                suspects.add(i);
            }
        }
        if (suspects == null) {
            return;
        }
        List<Long> bad = new ArrayList<>(suspects.size());
        for (int i : suspects) {
            long block = offsetBytes / TAGGED_BYTES + i;
            ReentrantLock lock = lockOf(block);
            lock.lock();
            try {
                ByteBuffer again = ByteBuffer.allocate(TAGGED_BYTES);
                device.read(dataOffsetBytes + block * TAGGED_BYTES, again);
                int expected = tag(block);
                if (expected == UNKNOWN || expected == TagBlock.tagOf(again.flip())) {
                    // It raced a write: what is there now matches, and is what this read returns.
                    data.put(data.position() + i * TAGGED_BYTES, again, 0, TAGGED_BYTES);
                } else {
                    bad.add(block * TAGGED_BYTES);
                }
            } finally {
                lock.unlock();
            }
        }
        if (!bad.isEmpty()) {
            long[] offsets = new long[bad.size()];
            List<Long> fresh = new ArrayList<>(offsets.length);
            for (int i = 0; i < offsets.length; i++) {
                offsets[i] = bad.get(i);
                if (corrupt.add(offsets[i])) {
                    fresh.add(offsets[i]);
                }
            }
            if (!fresh.isEmpty()) {
                mismatches.addAndGet(fresh.size());
                listener.found(fresh.stream().mapToLong(Long::longValue).toArray());
            }
            throw new CorruptBlockException(memberName, offsets);
        }
    }

    // ------------------------------------------------------------------------------- writing

    /** A device write the tags are kept in step with. */
    @FunctionalInterface
    interface DeviceWrite {
        void run() throws IOException;
    }

    /**
     * Runs {@code write} of {@code srcs}' concatenation at data offset {@code offsetBytes} with the
     * tags of the blocks it touches updated to match.
     */
    void write(long offsetBytes, List<ByteBuffer> srcs, DeviceWrite write) throws IOException {
        long length = 0;
        List<ByteBuffer> bytes = new ArrayList<>(srcs.size());
        for (ByteBuffer src : srcs) {
            length += src.remaining();
            bytes.add(src.duplicate());
        }
        update(offsetBytes, length, new Source(bytes), write);
    }

    /** Runs {@code write} of zeroes over {@code [offsetBytes, +lengthBytes)}, tags updated to match. */
    void writeZeroes(long offsetBytes, long lengthBytes, DeviceWrite write) throws IOException {
        update(offsetBytes, lengthBytes, null, write);
    }

    private void update(long offsetBytes, long lengthBytes, Source src, DeviceWrite write) throws IOException {
        if (lengthBytes == 0) {
            write.run();
            return;
        }
        long firstBlock = offsetBytes / TAGGED_BYTES;
        long endBlock = Math.min(dataBlocks, (offsetBytes + lengthBytes + TAGGED_BYTES - 1) / TAGGED_BYTES);
        int[] held = lockRegions(firstBlock, Math.max(firstBlock + 1, endBlock));
        try {
            int[] tags = new int[(int) Math.max(0, endBlock - firstBlock)];
            long end = offsetBytes + lengthBytes;
            for (int i = 0; i < tags.length; i++) {
                long blockStart = (firstBlock + i) * TAGGED_BYTES;
                long from = Math.max(blockStart, offsetBytes);
                long to = Math.min(blockStart + TAGGED_BYTES, end);
                if (from == blockStart && to == blockStart + TAGGED_BYTES) {
                    tags[i] = src == null ? TagBlock.ZERO_TAG : src.tagOfNext(TAGGED_BYTES);
                } else {
                    tags[i] = mergedTag(blockStart, (int) (from - blockStart), (int) (to - from), src);
                }
            }
            try {
                write.run();
            } catch (IOException | RuntimeException e) {
                for (int i = 0; i < tags.length; i++) {
                    setQuietly(firstBlock + i, UNKNOWN);
                }
                throw e;
            }
            for (int i = 0; i < tags.length; i++) {
                set(firstBlock + i, tags[i]);
            }
            if (!corrupt.isEmpty()) {
                for (int i = 0; i < tags.length; i++) {
                    long at = (firstBlock + i) * TAGGED_BYTES;
                    if (tags[i] != UNKNOWN && corrupt.remove(at)) {
                        listener.repaired(at);
                    }
                }
            }
        } finally {
            unlock(held);
        }
    }

    /**
     * The tag of a block after {@code length} bytes at {@code inBlock} are replaced by the next
     * bytes of {@code src} (zeroes when null): the block is read, checked against its old tag, and
     * patched. Unknown when the old block cannot be read or does not match its tag (its other bytes
     * are not known to be right, and a tag must never vouch for them).
     */
    private int mergedTag(long blockStart, int inBlock, int length, Source src) {
        byte[] block = new byte[TAGGED_BYTES];
        boolean known;
        try {
            device.read(dataOffsetBytes + blockStart, ByteBuffer.wrap(block));
            int old = tag(blockStart / TAGGED_BYTES);
            known = blockStart >= trustedBelowBytes || old == UNKNOWN || old == TagBlock.tagOf(block, 0);
        } catch (IOException e) {
            known = false;
        }
        if (src == null) {
            java.util.Arrays.fill(block, inBlock, inBlock + length, (byte) 0);
        } else {
            src.copyNext(block, inBlock, length);
        }
        return known ? TagBlock.tagOf(block, 0) : UNKNOWN;
    }

    /**
     * Records the tags of blocks the caller read and made consistent under its own exclusion (a
     * resync holding the stripe lock): {@code length} bytes of {@code data} at data offset {@code
     * offsetBytes}. Partial blocks at either end are left as they are.
     */
    public void retag(long offsetBytes, byte[] data, int length) throws IOException {
        long firstBlock = (offsetBytes + TAGGED_BYTES - 1) / TAGGED_BYTES;
        long endBlock = Math.min(dataBlocks, (offsetBytes + length) / TAGGED_BYTES);
        if (endBlock <= firstBlock) {
            return;
        }
        int[] held = lockRegions(firstBlock, endBlock);
        try {
            for (long b = firstBlock; b < endBlock; b++) {
                set(b, TagBlock.tagOf(data, (int) (b * TAGGED_BYTES - offsetBytes)));
            }
        } finally {
            unlock(held);
        }
    }

    /** Marks the blocks of {@code [offsetBytes, +lengthBytes)} unknown. */
    public void forget(long offsetBytes, long lengthBytes) throws IOException {
        long firstBlock = offsetBytes / TAGGED_BYTES;
        long endBlock = Math.min(dataBlocks, (offsetBytes + lengthBytes + TAGGED_BYTES - 1) / TAGGED_BYTES);
        for (long b = firstBlock; b < endBlock; b++) {
            set(b, UNKNOWN);
        }
    }

    // ---------------------------------------------------------------------------------- trust

    /** Tags of blocks below {@code bytes} are verified; others are only kept up to date. */
    public void trustBelow(long bytes) {
        trustedBelowBytes = bytes;
    }

    public long trustedBelowBytes() {
        return trustedBelowBytes;
    }

    // ------------------------------------------------------------------------------ inspection

    /** The tag recorded for the block at data offset {@code offsetBytes} (0: unknown). */
    public int tagAt(long offsetBytes) throws IOException {
        return tag(offsetBytes / TAGGED_BYTES);
    }

    /** Whether the tag block holding the tag of data offset {@code offsetBytes} failed its checksum when loaded. */
    public boolean tagBlockDamaged(long offsetBytes) throws IOException {
        long page = offsetBytes / TAGGED_BYTES / TAGS_PER_BLOCK;
        page(page);
        return tornTagBlocks.contains(page);
    }

    /** Marks a damaged tag block dealt with (its tags were recomputed and written). */
    public void tagBlockRepaired(long offsetBytes) {
        tornTagBlocks.remove(offsetBytes / TAGGED_BYTES / TAGS_PER_BLOCK);
    }

    /** Where on the device the tag block for data offset {@code offsetBytes} lives. */
    public long tagBlockDeviceOffset(long offsetBytes) {
        return tagsOffsetBytes + offsetBytes / TAGGED_BYTES / TAGS_PER_BLOCK * BLOCK_BYTES;
    }

    /** Blocks found not matching their tags: once per block until it is rewritten (then again if it rots again). */
    public long mismatches() {
        return mismatches.get();
    }

    public long dataBlocks() {
        return dataBlocks;
    }

    // -------------------------------------------------------------------------- persistence

    /** Writes every dirty tag block back (not synced: the member flush that calls it syncs). */
    void flush() throws IOException {
        for (TagPage p : pages.values()) {
            synchronized (p) {
                if (p.dirty && !p.evicted) {
                    writeBack(p);
                }
            }
        }
    }

    /** Drops a page for the cache; writes it back first if dirty. */
    boolean evict(TagPage p) {
        synchronized (p) {
            if (p.evicted) {
                return false;
            }
            if (p.dirty) {
                try {
                    writeBack(p);
                } catch (IOException e) {
                    LOG.log(
                            System.Logger.Level.WARNING,
                            "{0}: tag block {1} could not be written back: {2}",
                            memberName,
                            String.valueOf(p.index),
                            e.getMessage());
                }
            }
            p.evicted = true;
            pages.remove(p.index, p);
            return true;
        }
    }

    /** Writes back what is dirty and lets go of every page. */
    void close() {
        try {
            flush();
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "{0}: tags not written back: {1}", memberName, e.getMessage());
        }
        for (TagPage p : pages.values()) {
            synchronized (p) {
                if (!p.evicted) {
                    p.evicted = true;
                    pages.remove(p.index, p);
                    cache.dropped();
                }
            }
        }
    }

    private void writeBack(TagPage p) throws IOException {
        byte[] block = new byte[BLOCK_BYTES];
        TagBlock.encode(p.tags, block);
        device.write(tagsOffsetBytes + p.index * BLOCK_BYTES, ByteBuffer.wrap(block));
        p.dirty = false;
        tornTagBlocks.remove(p.index);
    }

    // -------------------------------------------------------------------------------- private

    private int tag(long block) throws IOException {
        if (block >= dataBlocks) {
            return UNKNOWN;
        }
        TagPage p = page(block / TAGS_PER_BLOCK);
        return p.get((int) (block % TAGS_PER_BLOCK));
    }

    private void set(long block, int tag) throws IOException {
        if (block >= dataBlocks) {
            return;
        }
        while (true) {
            TagPage p = page(block / TAGS_PER_BLOCK);
            if (p.set((int) (block % TAGS_PER_BLOCK), tag)) {
                return;
            }
            // Evicted between the lookup and the update: load it again.
        }
    }

    private void setQuietly(long block, int tag) {
        try {
            set(block, tag);
        } catch (IOException e) {
            // The member is failing anyway.
        }
    }

    private TagPage page(long index) throws IOException {
        TagPage p = pages.get(index);
        if (p != null) {
            p.referenced = true;
            return p;
        }
        byte[] block = new byte[BLOCK_BYTES];
        device.read(tagsOffsetBytes + index * BLOCK_BYTES, ByteBuffer.wrap(block));
        TagPage loaded = new TagPage(this, index);
        if (!TagBlock.decode(block, loaded.tags)) {
            tornTagBlocks.add(index);
            LOG.log(
                    System.Logger.Level.WARNING,
                    "{0}: tag block {1} (data offsets {2}+{3}) fails its checksum: its tags are unknown until rewritten",
                    memberName,
                    String.valueOf(index),
                    String.valueOf(index * TAGS_PER_BLOCK * TAGGED_BYTES),
                    String.valueOf((long) TAGS_PER_BLOCK * TAGGED_BYTES));
        }
        TagPage raced = pages.putIfAbsent(index, loaded);
        if (raced != null) {
            raced.referenced = true;
            return raced;
        }
        cache.admitted(loaded);
        return loaded;
    }

    private ReentrantLock lockOf(long block) {
        return locks[(int) ((block / REGION_BLOCKS) % LOCKS)];
    }

    /** Locks the regions of blocks {@code [first, end)} in index order; returns the indexes held. */
    private int[] lockRegions(long first, long end) {
        long regions = (end - 1) / REGION_BLOCKS - first / REGION_BLOCKS + 1;
        int[] held;
        if (regions >= LOCKS) {
            held = new int[LOCKS];
            for (int i = 0; i < LOCKS; i++) {
                held[i] = i;
            }
        } else {
            java.util.TreeSet<Integer> set = new java.util.TreeSet<>();
            for (long r = first / REGION_BLOCKS; r <= (end - 1) / REGION_BLOCKS; r++) {
                set.add((int) (r % LOCKS));
            }
            held = set.stream().mapToInt(Integer::intValue).toArray();
        }
        for (int i : held) {
            locks[i].lock();
        }
        return held;
    }

    private void unlock(int[] held) {
        for (int i = held.length - 1; i >= 0; i--) {
            locks[held[i]].unlock();
        }
    }

    private static long roundUp(long bytes) {
        return (bytes + TAGGED_BYTES - 1) / TAGGED_BYTES * TAGGED_BYTES;
    }

    @Override
    public String toString() {
        return "IntegrityTags[" + memberName + ", " + pages.size() + " tag blocks held]";
    }

    /** The bytes of a write, consumed block by block. */
    private static final class Source {
        private final List<ByteBuffer> buffers;
        private int current;

        Source(List<ByteBuffer> buffers) {
            this.buffers = buffers;
        }

        int tagOfNext(int length) {
            java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
            int left = length;
            while (left > 0) {
                ByteBuffer b = buffers.get(current);
                int n = Math.min(left, b.remaining());
                ByteBuffer part = b.slice(b.position(), n);
                crc.update(part);
                b.position(b.position() + n);
                left -= n;
                if (!b.hasRemaining()) {
                    current++;
                }
            }
            int v = (int) crc.getValue();
            return v == UNKNOWN ? 1 : v;
        }

        void copyNext(byte[] dst, int offset, int length) {
            int left = length;
            int at = offset;
            while (left > 0) {
                ByteBuffer b = buffers.get(current);
                int n = Math.min(left, b.remaining());
                b.get(dst, at, n);
                at += n;
                left -= n;
                if (!b.hasRemaining()) {
                    current++;
                }
            }
        }
    }

    /** One tag block in memory. */
    static final class TagPage {
        private final IntegrityTags owner;
        final long index;
        final int[] tags = new int[TAGS_PER_BLOCK];
        boolean dirty;
        volatile boolean evicted;
        volatile boolean referenced;

        TagPage(IntegrityTags owner, long index) {
            this.owner = owner;
            this.index = index;
        }

        IntegrityTags owner() {
            return owner;
        }

        boolean evicted() {
            return evicted;
        }

        /** Clears the reference bit; returns whether it was set. */
        boolean takeReference() {
            boolean was = referenced;
            referenced = false;
            return was;
        }

        synchronized int get(int i) {
            return tags[i];
        }

        /** False when the page was evicted: the caller loads it again. */
        synchronized boolean set(int i, int tag) {
            if (evicted) {
                return false;
            }
            if (tags[i] != tag) {
                tags[i] = tag;
                dirty = true;
            }
            referenced = true;
            return true;
        }
    }
}
