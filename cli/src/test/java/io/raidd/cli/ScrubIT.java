package io.raidd.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.raidd.blockdev.FileBlockDevice;
import io.raidd.raid.layout.Geometry;
import io.raidd.raid.md.RaiddArea;
import io.raidd.raid.md.Superblock;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The scrubber as an operator meets it: raidd and raidctl processes, members on image files, known
 * data written and read back through NBD with nbdcopy, bits flipped in the image files while raidd
 * is stopped (as a disk rots), then {@code raidctl scrub}.
 */
class ScrubIT {
    private static final Duration TOOL = Duration.ofMinutes(2);
    private static final long SEED = Long.getLong("raidd.test.seed", System.nanoTime());
    private static final int BLOCK = 4096;
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A flipped block: member file, slot, data-area offset, bytes before, what geometry says it is. */
    record Flip(Path member, int slot, long memberOffset, long deviceOffset, byte[] before, String kind) {
        String key() {
            return member + "@" + memberOffset;
        }
    }

    private static Geometry geometry(Path member) {
        Superblock sb = Scratch.superblock(member);
        return Geometry.of(
                sb.level(),
                sb.layout(),
                sb.level() == 1 ? 4096 : sb.chunkBytes(),
                sb.raidDisks(),
                sb.sizeSectors() * 512);
    }

    private static byte[] raw(Path member, long offset, int length) throws Exception {
        try (FileBlockDevice d = FileBlockDevice.open(member, true)) {
            ByteBuffer b = ByteBuffer.allocate(length);
            d.read(offset, b);
            return b.array();
        }
    }

    private static Flip flip(Path member, long memberOffset, Random random) throws Exception {
        Superblock sb = Scratch.superblock(member);
        long at = sb.dataOffsetBytes() + memberOffset;
        try (FileBlockDevice d = FileBlockDevice.open(member, false)) {
            ByteBuffer b = ByteBuffer.allocate(BLOCK);
            d.read(at, b);
            byte[] before = b.array();
            byte[] after = before.clone();
            int bits = 1 + random.nextInt(4);
            for (int i = 0; i < bits; i++) {
                int bit = random.nextInt(BLOCK * 8);
                after[bit / 8] ^= (byte) (1 << (bit % 8));
            }
            d.write(at, ByteBuffer.wrap(after));
            d.flush();
            String kind =
                    switch (geometry(member).memberByte(sb.role(), memberOffset).kind()) {
                        case P -> "P";
                        case Q -> "Q";
                        default -> "data";
                    };
            return new Flip(member, sb.role(), memberOffset, at, before, kind);
        }
    }

    /** Random blocks of random members, one per block row (member offset), so all are recoverable. */
    private static List<Flip> flipRandom(List<Path> members, int count, Random random) throws Exception {
        long blocks = geometry(members.get(0)).memberUsedBytes() / BLOCK;
        Set<Long> rows = new HashSet<>();
        List<Flip> out = new ArrayList<>();
        while (out.size() < count) {
            long row = (long) (random.nextDouble() * blocks);
            if (rows.add(row)) {
                out.add(flip(members.get(random.nextInt(members.size())), row * BLOCK, random));
            }
        }
        return out;
    }

    private static boolean restored(Flip f) throws Exception {
        return java.util.Arrays.equals(f.before(), raw(f.member(), f.deviceOffset(), BLOCK));
    }

    private static Path knownData(Scratch scratch, long bytes, Random random) throws Exception {
        Path file = scratch.resolve("known.bin");
        byte[] data = new byte[(int) bytes];
        random.nextBytes(data);
        Files.write(file, data);
        return file;
    }

    private static String sha256(Path file) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
    }

    private static void copy(String from, String to) throws Exception {
        Tools.run(TOOL, Tools.require("nbdcopy", "libnbd-bin"), from, to).assertSuccess();
    }

    private static JsonNode scrubStatus(RaiddProcess raidd, String volume) throws Exception {
        return JSON.readTree(raidd.ok("scrub", "status", volume, "--json"));
    }

    private static Set<String> findingKeys(JsonNode status, List<Path> members) {
        Set<String> out = new TreeSet<>();
        for (JsonNode f : status.path("findings")) {
            out.add(f.path("member").asText() + "@" + f.path("memberOffset").asLong());
        }
        return out;
    }

    private static Set<String> keys(List<Flip> flips) {
        Set<String> out = new TreeSet<>();
        flips.forEach(f -> out.add(f.key()));
        return out;
    }

    private static String sha256OfDataAreas(List<Path> members) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        for (Path p : members) {
            Superblock sb = Scratch.superblock(p);
            md.update(raw(p, sb.dataOffsetBytes(), (int) sb.dataSizeBytes()));
        }
        return HexFormat.of().formatHex(md.digest());
    }

    @ParameterizedTest(name = "RAID-{0} of {1}: rot is healed on read, the rest found by the scrub and repaired")
    @CsvSource({"5, 4", "6, 5", "1, 2"})
    void rotIsHealedOnReadAndTheRestFoundAndRepairedByTheScrub(int level, int n) throws Exception {
        System.out.println("ScrubIT seed " + SEED);
        Random random = new Random(SEED + level);
        try (Scratch scratch = new Scratch("raidd-scrub-")) {
            List<Path> members = scratch.members("m", n);
            Scratch.create(level, "64K", "24M", "rot", members);
            Path known;
            try (RaiddProcess raidd = RaiddProcess.start(members)) {
                long bytes = raidd.status("rot").path("sizeBytes").asLong();
                known = knownData(scratch, bytes, random);
                copy(known.toString(), raidd.uri);
                assertEquals(0, raidd.terminate());
            }
            List<Flip> flips = flipRandom(members, 40, random);
            try (RaiddProcess raidd = RaiddProcess.start(members)) {
                Path back = scratch.resolve("back.bin");
                copy(raidd.uri, back.toString());
                assertEquals(sha256(known), sha256(back), "the whole volume read returns the known data");
                List<Flip> pending = new ArrayList<>();
                for (Flip f : flips) {
                    if (!restored(f)) {
                        pending.add(f);
                    }
                }
                JarProcess scrub = raidd.raidctl("scrub", "start", "--repair", "--wait", "rot");
                assertEquals(0, scrub.exitCode(), scrub.describe());
                JsonNode st = scrubStatus(raidd, "rot");
                assertEquals("finished", st.path("state").asText(), st.toString());
                assertEquals(keys(pending), findingKeys(st, members), st.toPrettyString());
                for (JsonNode f : st.path("findings")) {
                    Flip flip = pending.stream()
                            .filter(x -> (x.member() + "@" + x.memberOffset())
                                    .equals(f.path("member").asText() + "@"
                                            + f.path("memberOffset").asLong()))
                            .findFirst()
                            .orElseThrow();
                    assertEquals(flip.kind(), f.path("kind").asText(), f.toString());
                    assertEquals("tag mismatch", f.path("cause").asText(), f.toString());
                    assertTrue(f.path("repaired").asBoolean(), f.toString());
                    assertEquals(
                            flip.kind().equals("data"), f.path("volumeOffset").isNumber(), f.toString());
                }
                for (Flip f : flips) {
                    assertTrue(restored(f), f.key() + " holds its bytes again");
                }
                assertEquals(pending.size(), st.path("repaired").asLong());
                JarProcess again = raidd.raidctl("scrub", "start", "--check", "--wait", "rot");
                assertEquals(0, again.exitCode(), again.describe());
                JsonNode second = scrubStatus(raidd, "rot");
                assertEquals(0, second.path("found").asLong(), second.toPrettyString());
                assertEquals(1, second.path("history").size(), second.toPrettyString());
                System.out.printf(
                        "ScrubIT RAID-%d of %d: injected %d, healed on read %d, found by scrub %d, repaired %d%n",
                        level,
                        n,
                        flips.size(),
                        flips.size() - pending.size(),
                        st.path("found").asLong(),
                        st.path("repaired").asLong());
                String human = raidd.ok("scrub", "status", "rot");
                assertTrue(human.contains("found 0, repaired 0, unresolved 0"), human);
                assertEquals(0, raidd.terminate());
            }
        }
    }

    /** Zeroes every member's tag region: every tag unknown, as with tags off. */
    private static void zeroTags(List<Path> members) throws Exception {
        for (Path p : members) {
            try (FileBlockDevice d = FileBlockDevice.open(p, false)) {
                RaiddArea area = RaiddArea.read(d, Scratch.superblock(p));
                d.write(area.tagsOffsetBytes(), ByteBuffer.allocate((int) area.tagsBytes()));
                d.flush();
            }
        }
    }

    @Test
    void raid6WithoutTagsLocatesTheBadMemberFromTheSyndromesAndRepairsIt() throws Exception {
        System.out.println("ScrubIT seed " + SEED);
        Random random = new Random(SEED);
        try (Scratch scratch = new Scratch("raidd-scrub6-")) {
            List<Path> members = scratch.members("m", 5);
            Scratch.create(6, "64K", "24M", "six", members);
            Path known;
            try (RaiddProcess raidd = RaiddProcess.start(members)) {
                known = knownData(scratch, raidd.status("six").path("sizeBytes").asLong(), random);
                copy(known.toString(), raidd.uri);
                assertEquals(0, raidd.terminate());
            }
            zeroTags(members);
            Geometry g = geometry(members.get(0));
            long row = 37L * 64 * 1024 + 3 * BLOCK;
            Path victim = null;
            for (Path p : members) {
                if (g.memberByte(Scratch.superblock(p).role(), row).kind() == Geometry.MemberByte.Kind.DATA) {
                    victim = p;
                    break;
                }
            }
            Flip flip = flip(victim, row, random);
            try (RaiddProcess raidd = RaiddProcess.start(members)) {
                JarProcess scrub = raidd.raidctl("scrub", "start", "--wait", "six");
                assertEquals(0, scrub.exitCode(), scrub.describe());
                JsonNode st = scrubStatus(raidd, "six");
                assertEquals(Set.of(flip.key()), findingKeys(st, members), st.toPrettyString());
                JsonNode f = st.path("findings").get(0);
                assertEquals("parity mismatch", f.path("cause").asText());
                assertEquals("data", f.path("kind").asText());
                assertTrue(f.path("repaired").asBoolean());
                assertTrue(restored(flip));
                Path back = scratch.resolve("back.bin");
                copy(raidd.uri, back.toString());
                assertEquals(sha256(known), sha256(back));
                assertEquals(0, raidd.terminate());
            }
        }
    }

    @Test
    void damagedTagAreaIsReportedAndNeverRewritesData() throws Exception {
        System.out.println("ScrubIT seed " + SEED);
        Random random = new Random(SEED);
        try (Scratch scratch = new Scratch("raidd-scrubtag-")) {
            List<Path> members = scratch.members("m", 4);
            Scratch.create(5, "64K", "24M", "tags", members);
            Path known;
            try (RaiddProcess raidd = RaiddProcess.start(members)) {
                known = knownData(
                        scratch, raidd.status("tags").path("sizeBytes").asLong(), random);
                copy(known.toString(), raidd.uri);
                assertEquals(0, raidd.terminate());
            }
            Path victim = members.get(2);
            try (FileBlockDevice d = FileBlockDevice.open(victim, false)) {
                RaiddArea area = RaiddArea.read(d, Scratch.superblock(victim));
                long at = area.tagsOffsetBytes() + 2L * BLOCK;
                ByteBuffer b = ByteBuffer.allocate(BLOCK);
                d.read(at, b);
                byte[] torn = b.array();
                torn[random.nextInt(BLOCK)] ^= 0x20;
                d.write(at, ByteBuffer.wrap(torn));
                d.flush();
            }
            String before = sha256OfDataAreas(members);
            try (RaiddProcess raidd = RaiddProcess.start(members)) {
                JarProcess scrub = raidd.raidctl("scrub", "start", "--repair", "--wait", "tags");
                assertEquals(0, scrub.exitCode(), scrub.describe());
                JsonNode st = scrubStatus(raidd, "tags");
                assertEquals(1, st.path("found").asLong(), st.toPrettyString());
                JsonNode f = st.path("findings").get(0);
                assertEquals("tag area", f.path("kind").asText());
                assertEquals(victim.toString(), f.path("member").asText());
                assertEquals("tag block checksum", f.path("cause").asText());
                assertEquals(before, sha256OfDataAreas(members), "no data byte was rewritten");
                Path back = scratch.resolve("back.bin");
                copy(raidd.uri, back.toString());
                assertEquals(sha256(known), sha256(back));
                assertEquals(0, raidd.terminate());
            }
            try (RaiddProcess raidd = RaiddProcess.start(members)) {
                JarProcess scrub = raidd.raidctl("scrub", "start", "--check", "--wait", "tags");
                assertEquals(0, scrub.exitCode(), scrub.describe());
                assertEquals(0, scrubStatus(raidd, "tags").path("found").asLong());
                assertEquals(0, raidd.terminate());
            }
        }
    }

    private static JsonNode awaitScrub(
            RaiddProcess raidd, String volume, Duration timeout, java.util.function.Predicate<JsonNode> until)
            throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        JsonNode st = scrubStatus(raidd, volume);
        while (!until.test(st)) {
            assertTrue(System.nanoTime() < deadline, "scrub status never got there: " + st.toPrettyString());
            Thread.onSpinWait();
            st = scrubStatus(raidd, volume);
        }
        return st;
    }

    @Test
    void pauseResumeAndCheckpointSurviveKillNine() throws Exception {
        System.out.println("ScrubIT seed " + SEED);
        Random random = new Random(SEED);
        String[] slow = {"--rebuild-max", "4M", "--rebuild-min", "4M"};
        try (Scratch scratch = new Scratch("raidd-scrubkill-")) {
            List<Path> members = scratch.members("m", 3);
            Scratch.create(5, "64K", "32M", "kill", members);
            try (RaiddProcess raidd = RaiddProcess.start(members)) {
                Path known = knownData(
                        scratch, raidd.status("kill").path("sizeBytes").asLong(), random);
                copy(known.toString(), raidd.uri);
                assertEquals(0, raidd.terminate());
            }
            // One flip near the start (found before the kill), one near the end (after it).
            Geometry g = geometry(members.get(0));
            List<Flip> flips = List.of(
                    flip(members.get(1), 2L * BLOCK, random),
                    flip(members.get(2), g.memberUsedBytes() - 5L * BLOCK, random));
            long pausedAt;
            long beforeKill;
            try (RaiddProcess raidd = RaiddProcess.start(members, slow)) {
                raidd.ok("scrub", "start", "kill");
                JsonNode running =
                        awaitScrub(raidd, "kill", TOOL, s -> s.path("doneBytes").asLong() > 0);
                assertEquals("running", running.path("state").asText());
                raidd.ok("scrub", "pause", "kill");
                JsonNode paused = scrubStatus(raidd, "kill");
                assertEquals("paused", paused.path("state").asText(), paused.toPrettyString());
                pausedAt = paused.path("doneBytes").asLong();
                raidd.ok("scrub", "resume", "kill");
                // Past a checkpoint: the cursor is written every second while running.
                JsonNode later =
                        awaitScrub(raidd, "kill", TOOL, s -> s.path("doneBytes").asLong() > pausedAt + (8L << 20));
                beforeKill = later.path("doneBytes").asLong();
                assertTrue(later.path("found").asLong() >= 1, later.toPrettyString());
                raidd.kill();
            }
            try (RaiddProcess raidd = RaiddProcess.start(members)) {
                JsonNode resumed = scrubStatus(raidd, "kill");
                assertNotEquals("never", resumed.path("state").asText(), resumed.toPrettyString());
                long resumedAt = resumed.path("doneBytes").asLong();
                assertTrue(resumedAt > pausedAt, "continues past the pause: " + resumedAt + " > " + pausedAt);
                assertTrue(resumedAt + (8L << 20) >= beforeKill, "at most a checkpoint lost: " + resumedAt);
                JsonNode done = awaitScrub(
                        raidd, "kill", TOOL, s -> s.path("state").asText().equals("finished"));
                // The first flip was found before the kill; the second by the scrub, or by the resync
                // an unclean stop may queue first (its verified reads repair it just as well).
                Set<String> found = findingKeys(done, members);
                assertTrue(found.contains(flips.get(0).key()), done.toPrettyString());
                assertTrue(keys(flips).containsAll(found), done.toPrettyString());
                for (Flip f : flips) {
                    assertTrue(restored(f), f.key());
                }
                assertEquals(0, raidd.terminate());
            }
            try (RaiddProcess raidd = RaiddProcess.start(members)) {
                JsonNode st = scrubStatus(raidd, "kill");
                assertEquals("finished", st.path("state").asText(), "history survives: " + st.toPrettyString());
                assertTrue(st.path("found").asLong() >= 1, st.toPrettyString());
                assertFalse(st.path("started").isNull());
                assertEquals(0, raidd.terminate());
            }
        }
    }
}
