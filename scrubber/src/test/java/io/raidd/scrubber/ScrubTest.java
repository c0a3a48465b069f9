package io.raidd.scrubber;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raidd.blockdev.BlockDevice;
import io.raidd.blockdev.MemoryBlockDevice;
import io.raidd.raid.agent.RateLimits;
import io.raidd.raid.agent.VolumeAgents;
import io.raidd.raid.event.ArrayEvent;
import io.raidd.raid.event.EventType;
import io.raidd.raid.layout.Geometry;
import io.raidd.raid.md.ArrayFormatter;
import io.raidd.raid.md.Assembler;
import io.raidd.raid.md.NamedDevice;
import io.raidd.raid.md.RaiddArea;
import io.raidd.raid.md.Superblock;
import io.raidd.raid.md.SuperblockCodec;
import io.raidd.raid.md.TagBlock;
import io.raidd.raid.md.TagBlockDescriptor;
import io.raidd.raid.meta.ArrayOpener;
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
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.opentest4j.AssertionFailedError;

/**
 * The scrubber on in-memory members: bits flipped behind raidd's back (as a failing disk would),
 * then a scrub driven step by step on the test's thread. Checks that every flip is found where it
 * is, repaired with the right bytes, and that nothing else is touched.
 */
class ScrubTest {
    private static final long MEMBER_BYTES = 24L << 20;
    private static final int CHUNK = 64 * 1024;
    private static final int BLOCK = 4096;
    private static final RaidVolumeConfig CONFIG =
            RaidVolumeConfig.DEFAULT.withSafeModeDelay(java.time.Duration.ofMillis(1));

    private final List<ArrayEvent> events = Collections.synchronizedList(new ArrayList<>());
    private final AtomicLong millis = new AtomicLong(1_000_000);

    private static List<NamedDevice> create(int level, int n) throws IOException {
        List<NamedDevice> m = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            m.add(new NamedDevice("m" + i, new Unclosable(new MemoryBlockDevice(MEMBER_BYTES))));
        }
        ArrayFormatter.format(
                m, new ArrayFormatter.Spec(level, Geometry.defaultLayout(level), CHUNK, "vol", null, true, false));
        return m;
    }

    private RaidVolume open(List<NamedDevice> members) throws IOException {
        return ArrayOpener.open(Assembler.assembleOne(members, false), CONFIG, events::add);
    }

    /** Fills the volume with random bytes through raidd (so every tag is known) and returns them. */
    private byte[] fill(List<NamedDevice> m, Random random) throws IOException {
        try (RaidVolume v = open(m)) {
            byte[] data = new byte[(int) v.sizeBytes()];
            random.nextBytes(data);
            v.write(0, ByteBuffer.wrap(data));
            v.flush();
            return data;
        }
    }

    /** A flipped block: slot, data-area offset, device offset, bytes before. */
    record Flip(int slot, long memberOffset, long deviceOffset, byte[] before, Geometry.MemberByte.Kind kind) {}

    private static byte[] raw(BlockDevice d, long offset, int length) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(length);
        d.read(offset, b);
        return b.array();
    }

    private static NamedDevice bySlot(List<NamedDevice> m, int slot) throws IOException {
        for (NamedDevice d : m) {
            if (SuperblockCodec.read(d.device()).role() == slot) {
                return d;
            }
        }
        throw new IllegalArgumentException("no slot " + slot);
    }

    static Flip flip(List<NamedDevice> m, Geometry g, int slot, long memberOffset, Random random) throws IOException {
        BlockDevice d = bySlot(m, slot).device();
        Superblock sb = SuperblockCodec.read(d);
        long at = sb.dataOffsetBytes() + memberOffset;
        byte[] before = raw(d, at, BLOCK);
        byte[] after = before.clone();
        int bits = 1 + random.nextInt(8);
        for (int b = 0; b < bits; b++) {
            int bit = random.nextInt(BLOCK * 8);
            after[bit / 8] ^= (byte) (1 << (bit % 8));
        }
        d.write(at, ByteBuffer.wrap(after));
        return new Flip(
                slot, memberOffset, at, before, g.memberByte(slot, memberOffset).kind());
    }

    /** Flips in {@code count} random blocks, one per block row (member offset), so all are recoverable. */
    static List<Flip> flipRandom(List<NamedDevice> m, Geometry g, int count, Random random) throws IOException {
        List<Flip> out = new ArrayList<>();
        Set<Long> rows = new HashSet<>();
        long blocks = g.memberUsedBytes() / BLOCK;
        while (out.size() < count) {
            long block = (long) (random.nextDouble() * blocks);
            if (rows.add(block)) {
                out.add(flip(m, g, random.nextInt(m.size()), block * BLOCK, random));
            }
        }
        return out;
    }

    private Scrubber scrubber(RaidVolume v, VolumeAgents agents, boolean useTags, FindingClassifier.Policy policy) {
        return Scrubber.open(v, agents.runner(), millis::get, useTags, policy);
    }

    private static VolumeAgents agents(RaidVolume v) {
        return new VolumeAgents(v, new RateLimits(Long.MAX_VALUE, Long.MAX_VALUE), System::nanoTime);
    }

    /** Drives the runner until the scrub ends. */
    private void run(Scrubber s, VolumeAgents agents) {
        for (int i = 0; i < 1_000_000 && s.running(); i++) {
            agents.runner().runOnce();
            millis.addAndGet(10);
        }
        assertFalse(s.running(), "scrub did not end");
    }

    private ScrubStatus scrub(Scrubber s, VolumeAgents agents, boolean repair) {
        s.start(repair);
        run(s, agents);
        return s.status();
    }

    private static Set<String> keys(List<Flip> flips) {
        Set<String> out = new TreeSet<>();
        for (Flip f : flips) {
            out.add(f.slot() + "@" + f.memberOffset());
        }
        return out;
    }

    private static Set<String> keysOf(List<Finding> findings) {
        Set<String> out = new TreeSet<>();
        for (Finding f : findings) {
            out.add(f.slot() + "@" + f.memberOffsetBytes());
        }
        return out;
    }

    /** Every flipped block holds its bytes from before the flip again. */
    private static void assertRestored(List<NamedDevice> m, List<Flip> flips) throws IOException {
        for (Flip f : flips) {
            assertArrayEquals(
                    f.before(),
                    raw(bySlot(m, f.slot()).device(), f.deviceOffset(), BLOCK),
                    "slot " + f.slot() + " member offset " + f.memberOffset() + " (" + f.kind() + ")");
        }
    }

    private static byte[] readAll(RaidVolume v) throws IOException {
        ByteBuffer b = ByteBuffer.allocate((int) v.sizeBytes());
        v.read(0, b);
        return b.array();
    }

    @ParameterizedTest(name = "RAID-{0} of {1}: a repair scrub finds every flip where it is and repairs it")
    @CsvSource({"5, 4", "6, 5", "1, 2", "1, 3", "10, 4"})
    void repairScrubFindsAndRepairsEveryFlip(int level, int n) throws IOException {
        long seed = System.nanoTime();
        System.out.println("ScrubTest seed " + seed);
        Random random = new Random(seed);
        List<NamedDevice> m = create(level, n);
        byte[] data = fill(m, random);
        Geometry g;
        try (RaidVolume v = open(m)) {
            g = v.geometry();
        }
        List<Flip> flips = flipRandom(m, g, 24, random);
        try (RaidVolume v = open(m);
                VolumeAgents agents = agents(v)) {
            Scrubber s = scrubber(v, agents, true, FindingClassifier.Policy.SAFE);
            ScrubStatus check = scrub(s, agents, false);
            assertEquals(keys(flips), keysOf(check.findings()), "check scrub findings");
            assertTrue(check.findings().stream().noneMatch(Finding::repaired), "check mode repairs nothing");
            ScrubStatus st = scrub(s, agents, true);
            assertEquals("finished", st.state());
            assertEquals(keys(flips), keysOf(st.findings()), "repair scrub findings");
            for (Finding f : st.findings()) {
                assertTrue(f.repaired(), f.toString());
                assertEquals(Finding.Cause.TAG_MISMATCH, f.cause(), f.toString());
                Flip flip = flips.stream()
                        .filter(x -> x.slot() == f.slot() && x.memberOffset() == f.memberOffsetBytes())
                        .findFirst()
                        .orElseThrow();
                assertEquals(flip.kind().name(), f.kind().name(), f.toString());
                assertEquals("m" + (m.indexOf(bySlot(m, f.slot()))), f.member());
            }
            assertEquals(flips.size(), st.repaired());
            assertRestored(m, flips);
            ScrubStatus again = scrub(s, agents, true);
            assertEquals(0, again.found(), "second scrub: " + again.findings());
            assertEquals(2, again.history().size());
            assertArrayEquals(data, readAll(v));
        }
        assertTrue(events.stream().anyMatch(e -> e.type() == EventType.ScrubStarted));
        assertTrue(events.stream().anyMatch(e -> e.type() == EventType.ScrubFinished));
        assertTrue(events.stream()
                        .filter(e -> e.type() == EventType.CorruptionRepaired)
                        .count()
                >= flips.size());
    }

    /** Zeroes every member's tag region: every tag unknown, as on a volume whose tags are off. */
    private static void zeroTags(List<NamedDevice> m) throws IOException {
        for (NamedDevice d : m) {
            Superblock sb = SuperblockCodec.read(d.device());
            RaiddArea area = RaiddArea.read(d.device(), sb);
            d.device().write(area.tagsOffsetBytes(), ByteBuffer.allocate((int) area.tagsBytes()));
        }
    }

    @ParameterizedTest(name = "RAID-6, tags {0}: a single bad block is located from the P/Q syndromes")
    @CsvSource({"zeroed", "ignored"})
    void raid6WithoutTagsLocatesTheBadMemberFromTheSyndromes(String tags) throws IOException {
        long seed = System.nanoTime();
        System.out.println("ScrubTest seed " + seed);
        Random random = new Random(seed);
        List<NamedDevice> m = create(6, 5);
        byte[] data = fill(m, random);
        if (tags.equals("zeroed")) {
            zeroTags(m);
        }
        Geometry g;
        try (RaidVolume v = open(m)) {
            g = v.geometry();
        }
        List<Flip> flips = new ArrayList<>();
        // A data block, a P block and a Q block, each in its own stripe.
        for (long stripe = 3; flips.size() < 3; stripe += 7) {
            for (int slot = 0; slot < 5; slot++) {
                Geometry.MemberByte.Kind kind =
                        g.memberByte(slot, stripe * CHUNK).kind();
                if (kind.ordinal() == flips.size()) {
                    flips.add(flip(m, g, slot, stripe * CHUNK + BLOCK * random.nextInt(CHUNK / BLOCK), random));
                    break;
                }
            }
        }
        try (RaidVolume v = open(m);
                VolumeAgents agents = agents(v)) {
            Scrubber s = scrubber(v, agents, tags.equals("zeroed"), FindingClassifier.Policy.SAFE);
            ScrubStatus st = scrub(s, agents, true);
            assertEquals(keys(flips), keysOf(st.findings()));
            for (Finding f : st.findings()) {
                assertEquals(Finding.Cause.PARITY_MISMATCH, f.cause(), f.toString());
                assertTrue(f.repaired(), f.toString());
            }
            assertRestored(m, flips);
            assertArrayEquals(data, readAll(v));
            assertEquals(0, scrub(s, agents, true).found());
        }
    }

    @Test
    void raid1OfTwoIdentifiesTheCorruptCopyByItsTag() throws IOException {
        long seed = System.nanoTime();
        System.out.println("ScrubTest seed " + seed);
        Random random = new Random(seed);
        List<NamedDevice> m = create(1, 2);
        byte[] data = fill(m, random);
        Geometry g;
        try (RaidVolume v = open(m)) {
            g = v.geometry();
        }
        List<Flip> flips = List.of(flip(m, g, 1, 40 * BLOCK, random), flip(m, g, 0, 900 * BLOCK, random));
        try (RaidVolume v = open(m);
                VolumeAgents agents = agents(v)) {
            Scrubber s = scrubber(v, agents, true, FindingClassifier.Policy.SAFE);
            ScrubStatus st = scrub(s, agents, true);
            assertEquals(keys(flips), keysOf(st.findings()));
            st.findings()
                    .forEach(f -> assertTrue(f.repaired() && f.cause() == Finding.Cause.TAG_MISMATCH, f.toString()));
            assertRestored(m, flips);
            assertArrayEquals(data, readAll(v));
        }
        // Without tags, two copies that differ cannot be told apart: reported, never "repaired".
        zeroTags(m);
        Flip blind = flip(m, g, 1, 77 * BLOCK, random);
        try (RaidVolume v = open(m);
                VolumeAgents agents = agents(v)) {
            Scrubber s = scrubber(v, agents, true, FindingClassifier.Policy.SAFE);
            ScrubStatus st = scrub(s, agents, true);
            assertEquals(1, st.found(), st.findings().toString());
            assertTrue(st.findings().get(0).unresolved());
            assertFalse(st.findings().get(0).repaired());
            assertFalse(
                    java.util.Arrays.equals(blind.before(), raw(bySlot(m, 1).device(), blind.deviceOffset(), BLOCK)),
                    "left as it was");
        }
    }

    private static byte[] dataArea(NamedDevice d) throws IOException {
        Superblock sb = SuperblockCodec.read(d.device());
        return raw(d.device(), sb.dataOffsetBytes(), (int) sb.dataSizeBytes());
    }

    @ParameterizedTest(name = "RAID-{0}: damage to the tag area ({2}) is reported as such and never rewrites data")
    @CsvSource({"5, 4, torn", "6, 5, torn", "1, 2, torn", "5, 4, wrong-tag", "1, 2, wrong-tag"})
    void tagAreaDamageIsReportedAndNeverRewritesData(int level, int n, String damage) throws IOException {
        long seed = System.nanoTime();
        System.out.println("ScrubTest seed " + seed);
        Random random = new Random(seed);
        List<NamedDevice> m = create(level, n);
        byte[] data = fill(m, random);
        NamedDevice victim = bySlot(m, 0);
        Superblock sb = SuperblockCodec.read(victim.device());
        RaiddArea area = RaiddArea.read(victim.device(), sb);
        long tagBlock = area.tagsOffsetBytes() + BLOCK; // data blocks 1023..2045
        byte[] tb = raw(victim.device(), tagBlock, BLOCK);
        if (damage.equals("torn")) {
            tb[100] ^= 0x10;
        } else {
            int[] tagsIn = new int[TagBlockDescriptor.TAGS_PER_BLOCK];
            assertTrue(TagBlock.decode(tb, tagsIn));
            tagsIn[5] ^= 0x1;
            TagBlock.encode(tagsIn, tb);
        }
        victim.device().write(tagBlock, ByteBuffer.wrap(tb));
        List<byte[]> before = new ArrayList<>();
        for (NamedDevice d : m) {
            before.add(dataArea(d));
        }
        try (RaidVolume v = open(m);
                VolumeAgents agents = agents(v)) {
            Scrubber s = scrubber(v, agents, true, FindingClassifier.Policy.SAFE);
            ScrubStatus st = scrub(s, agents, true);
            assertFalse(st.findings().isEmpty());
            for (Finding f : st.findings()) {
                assertEquals(Finding.Kind.TAG_AREA, f.kind(), f.toString());
                assertEquals(0, f.slot(), f.toString());
                assertEquals(
                        damage.equals("torn") ? Finding.Cause.TAG_CHECKSUM : Finding.Cause.TAG_MISMATCH, f.cause());
                if (damage.equals("wrong-tag")) {
                    assertEquals((TagBlockDescriptor.TAGS_PER_BLOCK + 5L) * BLOCK, f.memberOffsetBytes());
                }
            }
            assertEquals(1, st.found(), st.findings().toString());
            for (int i = 0; i < m.size(); i++) {
                assertArrayEquals(before.get(i), dataArea(m.get(i)), "member " + i + "'s data is unchanged");
            }
            assertArrayEquals(data, readAll(v));
            v.flush();
            assertEquals(0, scrub(s, agents, true).found(), "the tags were recomputed");
        }
        // The tag block holds checked tags again.
        int[] tagsOut = new int[TagBlockDescriptor.TAGS_PER_BLOCK];
        assertTrue(TagBlock.decode(raw(victim.device(), tagBlock, BLOCK), tagsOut));
        assertTrue(tagsOut[5] != 0);
    }

    /**
     * The safety check of the tests above, run against md's repair (P recomputed from the data as
     * read): it bakes the corrupt data block into parity, and the check catches it.
     */
    @Test
    void theDataCheckCatchesARepairThatTrustsParityOverTags() throws IOException {
        long seed = System.nanoTime();
        System.out.println("ScrubTest seed " + seed);
        for (FindingClassifier.Policy policy : FindingClassifier.Policy.values()) {
            Random random = new Random(seed);
            List<NamedDevice> m = create(5, 4);
            byte[] data = fill(m, random);
            Geometry g;
            try (RaidVolume v = open(m)) {
                g = v.geometry();
            }
            List<Flip> flips = new ArrayList<>();
            for (int slot = 0; flips.isEmpty(); slot++) {
                if (g.memberByte(slot, 5L * CHUNK).kind() == Geometry.MemberByte.Kind.DATA) {
                    flips.add(flip(m, g, slot, 5L * CHUNK + 2 * BLOCK, random));
                }
            }
            try (RaidVolume v = open(m);
                    VolumeAgents agents = agents(v)) {
                scrub(scrubber(v, agents, true, policy), agents, true);
            }
            if (policy == FindingClassifier.Policy.SAFE) {
                assertRestored(m, flips);
            } else {
                assertThrows(AssertionFailedError.class, () -> assertRestored(m, flips), "md's repair keeps bad data");
                try (RaidVolume v = open(m)) {
                    // The tag still marks the block bad, but parity now agrees with it: the read
                    // path has nothing right to rebuild it from.
                    byte[] now = new byte[data.length];
                    try {
                        now = readAll(v);
                    } catch (IOException e) {
                        now = null;
                    }
                    assertFalse(now != null && java.util.Arrays.equals(data, now), "bad data baked in");
                }
            }
        }
    }

    @Test
    void pauseResumeAndTheCursorSurviveARestart() throws IOException {
        long seed = System.nanoTime();
        System.out.println("ScrubTest seed " + seed);
        Random random = new Random(seed);
        List<NamedDevice> m = create(5, 4);
        fill(m, random);
        Geometry g;
        try (RaidVolume v = open(m)) {
            g = v.geometry();
        }
        List<Flip> flips = flipRandom(m, g, 6, random);
        long pausedAt;
        try (RaidVolume v = open(m);
                VolumeAgents agents = agents(v)) {
            Scrubber s = scrubber(v, agents, true, FindingClassifier.Policy.SAFE);
            s.start(true);
            agents.runner().runOnce();
            assertEquals("running", s.status().state());
            s.pause();
            agents.runner().runOnce();
            ScrubStatus st = s.status();
            assertEquals("paused", st.state());
            pausedAt = st.doneBytes();
            assertTrue(pausedAt > 0 && pausedAt < st.totalBytes(), pausedAt + " of " + st.totalBytes());
        }
        // A restart keeps it paused; resume continues from the cursor.
        try (RaidVolume v = open(m);
                VolumeAgents agents = agents(v)) {
            Scrubber s = scrubber(v, agents, true, FindingClassifier.Policy.SAFE);
            assertEquals("paused", s.status().state());
            assertEquals(pausedAt, s.status().doneBytes());
            s.resume();
            // Progress checkpoints while running; then the "daemon dies" without a word.
            agents.runner().runOnce();
            millis.addAndGet(Scrubber.CHECKPOINT_MILLIS);
            agents.runner().runOnce();
            assertTrue(s.running());
        }
        long checkpoint;
        try (RaidVolume v = open(m);
                VolumeAgents agents = agents(v)) {
            Scrubber s = scrubber(v, agents, true, FindingClassifier.Policy.SAFE);
            assertTrue(s.running(), "a scrub the stop interrupted continues");
            checkpoint = s.status().doneBytes();
            assertTrue(checkpoint > pausedAt, checkpoint + " > " + pausedAt);
            run(s, agents);
            ScrubStatus st = s.status();
            assertEquals("finished", st.state());
            assertEquals(keys(flips), keysOf(st.findings()));
            assertRestored(m, flips);
        }
        try (RaidVolume v = open(m);
                VolumeAgents agents = agents(v)) {
            ScrubStatus st =
                    scrubber(v, agents, true, FindingClassifier.Policy.SAFE).status();
            assertEquals("finished", st.state(), "history survives");
            assertEquals(flips.size(), st.found());
            assertEquals(keys(flips), keysOf(st.findings()));
        }
    }

    @Test
    void theScheduleCountsFromTheLastScrubAndSurvivesARestart() throws IOException {
        List<NamedDevice> m = create(1, 2);
        fill(m, new Random(1));
        java.time.Duration every = java.time.Duration.ofHours(1);
        try (RaidVolume v = open(m);
                VolumeAgents agents = agents(v)) {
            Scrubber s = Scrubber.open(v, agents.runner(), every, millis::get, true, FindingClassifier.Policy.SAFE);
            assertEquals(millis.get(), s.nextScheduledMillis(), "never scrubbed: due now");
            s.startIfDue();
            assertTrue(s.running());
            run(s, agents);
            long started = s.status().startedMillis();
            assertEquals(started + every.toMillis(), s.nextScheduledMillis());
            millis.addAndGet(every.toMillis() / 2);
            s.startIfDue();
            assertFalse(s.running(), "not due yet");
        }
        try (RaidVolume v = open(m);
                VolumeAgents agents = agents(v)) {
            Scrubber s = Scrubber.open(v, agents.runner(), every, millis::get, true, FindingClassifier.Policy.SAFE);
            long due = s.nextScheduledMillis();
            assertTrue(due > millis.get(), "the history says when");
            millis.set(due);
            s.startIfDue();
            assertTrue(s.running());
            run(s, agents);
            assertEquals(1, s.status().history().size());
            assertEquals("repair", s.status().mode());
        }
    }

    @Test
    void aTornNewestRecordFallsBackToTheOlderSlot() throws IOException {
        List<NamedDevice> m = create(5, 4);
        fill(m, new Random(2));
        try (RaidVolume v = open(m);
                VolumeAgents agents = agents(v)) {
            Scrubber s = scrubber(v, agents, true, FindingClassifier.Policy.SAFE);
            scrub(s, agents, false);
            scrub(s, agents, true);
        }
        // Tear the newest copy on every member: the slot the next-to-last write used survives.
        ScrubRecord newest = null;
        for (NamedDevice d : m) {
            Superblock sb = SuperblockCodec.read(d.device());
            RaiddArea area = RaiddArea.read(d.device(), sb);
            for (int slot = 0; slot < 2; slot++) {
                ScrubRecord r = ScrubRecord.decode(
                        raw(
                                d.device(),
                                area.headroomOffsetBytes() + (long) slot * ScrubRecordDescriptor.SLOT_BYTES,
                                ScrubRecordDescriptor.SLOT_BYTES),
                        sb.setUuid(),
                        null);
                if (r != null && (newest == null || r.sequence() > newest.sequence())) {
                    newest = r;
                }
            }
        }
        assertTrue(newest != null && newest.sequence() >= 2);
        for (NamedDevice d : m) {
            RaiddArea area = RaiddArea.read(d.device(), SuperblockCodec.read(d.device()));
            long at = area.headroomOffsetBytes() + (newest.sequence() & 1) * ScrubRecordDescriptor.SLOT_BYTES + 100;
            byte[] b = raw(d.device(), at, 1);
            b[0] ^= 1;
            d.device().write(at, ByteBuffer.wrap(b));
        }
        try (RaidVolume v = open(m);
                VolumeAgents agents = agents(v)) {
            ScrubStatus st =
                    scrubber(v, agents, true, FindingClassifier.Policy.SAFE).status();
            assertTrue(st.state().equals("finished") || st.state().equals("running"), st.toString());
            assertEquals(1, st.history().size(), "the older record still has the first scrub: " + st);
        }
    }
}
