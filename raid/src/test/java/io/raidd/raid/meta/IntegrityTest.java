package io.raidd.raid.meta;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raidd.blockdev.BlockDevice;
import io.raidd.blockdev.FaultInjectingBlockDevice;
import io.raidd.blockdev.MemoryBlockDevice;
import io.raidd.raid.event.ArrayEvent;
import io.raidd.raid.event.EventType;
import io.raidd.raid.layout.Geometry;
import io.raidd.raid.md.ArrayFormatter;
import io.raidd.raid.md.Assembler;
import io.raidd.raid.md.NamedDevice;
import io.raidd.raid.md.RaiddArea;
import io.raidd.raid.md.Superblock;
import io.raidd.raid.md.SuperblockCodec;
import io.raidd.raid.volume.RaidVolume;
import io.raidd.raid.volume.RaidVolumeConfig;
import io.raidd.testimages.Unclosable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Integrity tags through the md metadata: bits flipped in members' data areas are never served,
 * reads repair the blocks they find bad, and damage to the tags themselves never passes for bad
 * data. The flips are made behind raidd's back, on the member devices, as a failing disk would.
 */
class IntegrityTest {
    private static final long MEMBER_BYTES = 24L << 20;
    private static final int CHUNK = 64 * 1024;
    private static final int BLOCK = 4096;

    private final List<ArrayEvent> events = Collections.synchronizedList(new ArrayList<>());

    private static List<NamedDevice> create(int level, int n) throws IOException {
        List<NamedDevice> m = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            m.add(new NamedDevice(
                    "m" + i, new FaultInjectingBlockDevice(new Unclosable(new MemoryBlockDevice(MEMBER_BYTES)))));
        }
        ArrayFormatter.format(
                m, new ArrayFormatter.Spec(level, Geometry.defaultLayout(level), CHUNK, "vol", null, true, false));
        return m;
    }

    private RaidVolume open(List<NamedDevice> members, RaidVolumeConfig config) throws IOException {
        return ArrayOpener.open(Assembler.assembleOne(members, false), config, events::add);
    }

    private static final RaidVolumeConfig CONFIG =
            RaidVolumeConfig.DEFAULT.withSafeModeDelay(java.time.Duration.ofMillis(1));

    private static byte[] read(RaidVolume v, long offset, int length) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(length);
        v.read(offset, b);
        return b.array();
    }

    private long count(EventType type) {
        synchronized (events) {
            return events.stream().filter(e -> e.type() == type).count();
        }
    }

    /** Blocks named by CorruptionFound events ("3 block(s) do not match ..."). */
    private long blocksFound() {
        synchronized (events) {
            return events.stream()
                    .filter(e -> e.type() == EventType.CorruptionFound)
                    .mapToLong(e ->
                            Long.parseLong(e.detail().substring(0, e.detail().indexOf(' '))))
                    .sum();
        }
    }

    /** A flipped block: which device, where on it, what it held, what the geometry says it is. */
    private record Flip(int member, long deviceOffset, byte[] before, Geometry.MemberByte.Kind kind) {}

    private static byte[] rawRead(BlockDevice d, long offset, int length) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(length);
        d.read(offset, b);
        return b.array();
    }

    /**
     * Flips a few bits in {@code blocks} random 4 KiB blocks of the members' data areas, each in
     * another block row (member offset), so that every one is recoverable.
     */
    private static List<Flip> flipBits(List<NamedDevice> members, Geometry g, int blocks, Random random)
            throws IOException {
        List<Flip> out = new ArrayList<>();
        Set<String> taken = new HashSet<>();
        long usedBlocks = g.memberUsedBytes() / BLOCK;
        while (out.size() < blocks) {
            int i = random.nextInt(members.size());
            long block = (long) (random.nextDouble() * usedBlocks);
            // One flip per block row: two in one row could exceed what RAID-5 or a two-copy mirror
            // can recover, and the test is about what can be.
            if (!taken.add(Long.toString(block))) {
                continue;
            }
            BlockDevice d = members.get(i).device();
            Superblock sb = SuperblockCodec.read(d);
            long at = sb.dataOffsetBytes() + block * BLOCK;
            byte[] before = rawRead(d, at, BLOCK);
            byte[] after = before.clone();
            int bits = 1 + random.nextInt(8);
            for (int b = 0; b < bits; b++) {
                int bit = random.nextInt(BLOCK * 8);
                after[bit / 8] ^= (byte) (1 << (bit % 8));
            }
            d.write(at, ByteBuffer.wrap(after));
            out.add(new Flip(
                    i, at, before, g.memberByte(sb.role(), block * BLOCK).kind()));
        }
        return out;
    }

    @ParameterizedTest(name = "RAID-{0} of {1}: flipped bits are never served and reads repair them")
    @CsvSource({"5, 4", "6, 5", "1, 2", "1, 3", "10, 4"})
    void flippedBitsAreNeverServedAndReadsRepairThem(int level, int n) throws IOException {
        long seed = Long.getLong("raidd.test.seed", System.nanoTime());
        System.out.println("IntegrityTest seed " + seed);
        Random random = new Random(seed);
        List<NamedDevice> m = create(level, n);
        byte[] data;
        Geometry g;
        try (RaidVolume v = open(m, CONFIG)) {
            data = new byte[(int) v.sizeBytes()];
            random.nextBytes(data);
            v.write(0, ByteBuffer.wrap(data));
            v.flush();
            g = v.geometry();
        }
        List<Flip> flips = flipBits(m, g, 24, random);
        try (RaidVolume v = open(m, CONFIG)) {
            // Mixed sizes and alignments: 512-byte reads check the whole block they fall in.
            for (long off = 0; off < data.length; ) {
                int len = (int) Math.min(data.length - off, random.nextBoolean() ? 512 : 1 << 20);
                byte[] got = read(v, off, len);
                for (int i = 0; i < len; i++) {
                    if (got[i] != data[(int) (off + i)]) {
                        throw new AssertionError("seed " + seed + ": wrong byte at volume offset " + (off + i));
                    }
                }
                off += len;
            }
            long dataFlips = flips.stream()
                    .filter(f -> f.kind() == Geometry.MemberByte.Kind.DATA)
                    .count();
            System.out.printf(
                    "RAID-%d: %d blocks flipped (%d data), %d found on read, %d repaired%n",
                    level, flips.size(), dataFlips, blocksFound(), count(EventType.CorruptionRepaired));
            assertTrue(count(EventType.CorruptionFound) > 0, "seed " + seed + ": " + events);
            v.flush();
        }
        // Every flipped data block a read went through is whole again on its member (mirrors read
        // one copy of each chunk: a flipped copy that was not the one read stays for the scrub).
        int repaired = 0;
        for (Flip f : flips) {
            byte[] now = rawRead(m.get(f.member()).device(), f.deviceOffset(), BLOCK);
            if (java.util.Arrays.equals(f.before(), now)) {
                repaired++;
            }
        }
        assertEquals(blocksFound(), repaired, "seed " + seed + ": what was found was repaired");
        assertTrue(count(EventType.CorruptionRepaired) >= repaired, "seed " + seed + ": " + events);
        if (level == 5 || level == 6) {
            // Every data block was read, so repaired; a P or Q block too when a reconstruction read it.
            for (Flip f : flips) {
                if (f.kind() == Geometry.MemberByte.Kind.DATA) {
                    assertArrayEquals(
                            f.before(),
                            rawRead(m.get(f.member()).device(), f.deviceOffset(), BLOCK),
                            "seed " + seed + ": data block repaired at " + f);
                }
            }
        }
    }

    @ParameterizedTest(name = "RAID-{0}: with verification off the flips are served (the test can fail)")
    @CsvSource({"5, 4", "1, 2"})
    void withVerificationOffTheFlipsAreServed(int level, int n) throws IOException {
        Random random = new Random(7);
        List<NamedDevice> m = create(level, n);
        byte[] data;
        Geometry g;
        try (RaidVolume v = open(m, CONFIG)) {
            data = new byte[(int) v.sizeBytes()];
            random.nextBytes(data);
            v.write(0, ByteBuffer.wrap(data));
            g = v.geometry();
        }
        flipBits(m, g, 24, random);
        try (RaidVolume v = open(m, CONFIG.withVerifyReads(false))) {
            assertFalse(java.util.Arrays.equals(data, read(v, 0, data.length)), "rotten data served");
            assertEquals(0, count(EventType.CorruptionFound));
        }
    }

    @ParameterizedTest(name = "RAID-{0}: damaged tags are unknown tags, never bad data")
    @CsvSource({"5, 4", "6, 5", "1, 2"})
    void damagedTagsAreNeverTakenForBadData(int level, int n) throws IOException {
        long seed = Long.getLong("raidd.test.seed", System.nanoTime());
        System.out.println("IntegrityTest seed " + seed);
        Random random = new Random(seed);
        List<NamedDevice> m = create(level, n);
        byte[] data;
        try (RaidVolume v = open(m, CONFIG)) {
            data = new byte[(int) v.sizeBytes()];
            random.nextBytes(data);
            v.write(0, ByteBuffer.wrap(data));
        }
        List<byte[]> membersBefore = new ArrayList<>();
        for (NamedDevice d : m) {
            Superblock sb = SuperblockCodec.read(d.device());
            membersBefore.add(rawRead(d.device(), sb.dataOffsetBytes(), (int) sb.dataSizeBytes()));
            // Flip bits in a few tag blocks of every member: their checksums no longer match.
            RaiddArea area = RaiddArea.read(d.device(), sb);
            long tagBlocks = area.tagsBytes() / BLOCK;
            for (int i = 0; i < 3; i++) {
                long at = area.tagsOffsetBytes() + (long) (random.nextDouble() * tagBlocks) * BLOCK;
                byte[] b = rawRead(d.device(), at, BLOCK);
                b[random.nextInt(BLOCK)] ^= (byte) (1 << random.nextInt(8));
                d.device().write(at, ByteBuffer.wrap(b));
            }
        }
        try (RaidVolume v = open(m, CONFIG)) {
            assertArrayEquals(data, read(v, 0, data.length));
            assertEquals(0, count(EventType.CorruptionFound), "seed " + seed + ": " + events);
        }
        for (int i = 0; i < m.size(); i++) {
            Superblock sb = SuperblockCodec.read(m.get(i).device());
            assertArrayEquals(
                    membersBefore.get(i),
                    rawRead(m.get(i).device(), sb.dataOffsetBytes(), (int) sb.dataSizeBytes()),
                    "seed " + seed + ": nothing rewritten on member " + i);
        }
    }
}
