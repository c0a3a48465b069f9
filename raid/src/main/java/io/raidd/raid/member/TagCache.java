package io.raidd.raid.member;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Bounds the tag blocks a volume keeps in memory (a 16 TiB volume has 16 GiB of tags): every member's
 * {@link IntegrityTags} admits the blocks it loads here, and once more are held than the capacity
 * allows, the least recently used ones (second chance) are written back if dirty and dropped.
 * Thread-safe.
 */
public final class TagCache {
    private final long capacityBlocks;
    private final AtomicLong held = new AtomicLong();
    private final ConcurrentLinkedQueue<IntegrityTags.TagPage> clock = new ConcurrentLinkedQueue<>();
    private final AtomicLong loads = new AtomicLong();
    private final AtomicLong evictions = new AtomicLong();

    public TagCache(long capacityBytes) {
        this.capacityBlocks = Math.max(16, capacityBytes / io.raidd.raid.md.TagBlockDescriptor.BLOCK_BYTES);
    }

    public long capacityBytes() {
        return capacityBlocks * io.raidd.raid.md.TagBlockDescriptor.BLOCK_BYTES;
    }

    public long heldBytes() {
        return held.get() * io.raidd.raid.md.TagBlockDescriptor.BLOCK_BYTES;
    }

    /** Tag blocks read from members since the start. */
    public long loads() {
        return loads.get();
    }

    public long evictions() {
        return evictions.get();
    }

    void admitted(IntegrityTags.TagPage page) {
        loads.incrementAndGet();
        clock.add(page);
        if (held.incrementAndGet() > capacityBlocks) {
            evict();
        }
    }

    /** A page its owner dropped by itself (closing). */
    void dropped() {
        held.decrementAndGet();
    }

    private void evict() {
        int budget = (int) Math.min(Integer.MAX_VALUE, 2 * held.get() + 2);
        while (held.get() > capacityBlocks && budget-- > 0) {
            IntegrityTags.TagPage p = clock.poll();
            if (p == null) {
                return;
            }
            if (p.evicted()) {
                continue;
            }
            if (p.takeReference()) {
                clock.add(p); // used since it was last looked at: a second chance
                continue;
            }
            if (p.owner().evict(p)) {
                held.decrementAndGet();
                evictions.incrementAndGet();
            }
        }
    }
}
