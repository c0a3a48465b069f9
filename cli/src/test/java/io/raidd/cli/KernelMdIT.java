package io.raidd.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.raidd.raid.md.Superblock;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The real Linux md driver judges raidd's members ({@link KernelMd}): raidd creates an array,
 * serves it, takes random data over NBD, loses a member, rebuilds a new one while serving (and
 * while taking more writes), and stops; then md must assemble the current members (the rebuilt one
 * included) as a clean, complete array, its own {@code check} must find no parity or copy
 * mismatch, and the array device must hold exactly what was written. A negative control flips one
 * byte inside a member's data area and expects md's check to see it, so a mismatch_cnt of 0 means
 * something.
 */
class KernelMdIT {
    private static final Duration START = Duration.ofSeconds(60);
    private static final Duration TOOL = Duration.ofMinutes(2);
    private static final long SEED = Long.getLong("raidd.test.seed", System.nanoTime());
    private static final String URI_LINE = "^(nbd://127\\.0\\.0\\.1:(\\d+)/(\\S+))$";
    private static final long MEMBER_BYTES = 64L << 20;
    /** Written while the new member is being rebuilt (the rebuild is rate-limited so that it still runs). */
    private static final int LATE_WRITE_BYTES = 8 << 20;

    @ParameterizedTest(name = "RAID-{0} {2}, {1} members")
    @CsvSource({"5, 4, left-symmetric", "6, 5, left-symmetric", "10, 4, n2"})
    void mdAgreesAfterRebuild(int level, int memberCount, String layout) throws Exception {
        System.out.println("KernelMdIT seed " + SEED + " (-Draidd.test.seed=" + SEED + " repeats it)");
        String name = "md" + level;
        try (Scratch scratch = new Scratch("raidd-kernel-md-")) {
            List<Path> members = scratch.members("m", memberCount);
            List<String> create = new ArrayList<>(List.of(
                    "create",
                    "--level",
                    Integer.toString(level),
                    "--layout",
                    layout,
                    "--chunk",
                    "64K",
                    "--size",
                    Long.toString(MEMBER_BYTES),
                    "--name",
                    name));
            members.forEach(p -> create.add(p.toString()));
            assertEquals(0, RaidctlMain.run(create.toArray(String[]::new)), String.join(" ", create));

            Path control = scratch.resolve("raidd.sock");
            Path replacement = scratch.resolve("r1.img");
            Path data = scratch.resolve("expected.raw");
            long volumeBytes;
            long t0 = System.nanoTime();
            // The rebuild (62 MiB per member) is slowed to several seconds, so that the late writes
            // below meet it while each raidctl call costs a JVM start.
            List<String> args = new ArrayList<>(List.of(
                    "--listen",
                    "127.0.0.1:0",
                    "--control",
                    control.toString(),
                    "--rebuild-min",
                    "4M",
                    "--rebuild-max",
                    "8M"));
            members.forEach(p -> args.add(p.toString()));
            try (JarProcess raidd = JarProcess.start(JarProcess.RAIDD, args)) {
                Matcher uriLine = raidd.awaitStdout(URI_LINE, START);
                String uri = uriLine.group(1);
                volumeBytes = Long.parseLong(Tools.run(TOOL, Tools.require("nbdinfo", "libnbd-bin"), "--size", uri)
                        .assertSuccess()
                        .stdout()
                        .trim());
                ExternalClientsIT.writeRandomFile(data, volumeBytes, SEED);
                Tools.run(TOOL, Tools.require("nbdcopy", "libnbd-bin"), data.toString(), uri)
                        .assertSuccess();

                long written = System.nanoTime();

                raidctl(control, "fail", name, "1");
                raidctl(control, "add", name, replacement.toString());
                long added = System.nanoTime();
                // More writes while the new member is rebuilt: once its cursor has passed the first
                // megabytes, at the start of the volume (behind the cursor: the new member must get
                // them) and at its end (ahead of it: the rebuild must copy them).
                Path late = scratch.resolve("late.raw");
                ExternalClientsIT.writeRandomFile(late, LATE_WRITE_BYTES, SEED + 1);
                JsonNode sync = awaitRebuildPast(control, name, LATE_WRITE_BYTES);
                long lateEnd = volumeBytes - LATE_WRITE_BYTES;
                Tools.run(
                                TOOL,
                                Tools.require("qemu-io", "qemu-utils"),
                                "-f",
                                "raw",
                                "-c",
                                "write -s " + late + " 0 " + LATE_WRITE_BYTES,
                                "-c",
                                "write -s " + late + " " + lateEnd + " " + LATE_WRITE_BYTES,
                                uri)
                        .assertSuccess();
                try (RandomAccessFile f = new RandomAccessFile(data.toFile(), "rw")) {
                    byte[] bytes = Files.readAllBytes(late);
                    f.seek(0);
                    f.write(bytes);
                    f.seek(lateEnd);
                    f.write(bytes);
                }
                JsonNode after = syncStatus(control, name);
                System.out.printf(
                        "RAID-%d: late writes with the rebuild at %s, after them at %s%n", level, sync, after);
                assertEquals("rebuild", after.path("action").asText(), "the rebuild still ran after the late writes");
                raidctl(control, "wait", name);
                long rebuilt = System.nanoTime();
                assertEquals(0, raidd.terminate(START), raidd.describe());
                System.out.printf(
                        "RAID-%d: raidd start + %d MiB written %d ms, fail + add %d ms, rebuild with late writes %d ms,"
                                + " stop %d ms%n",
                        level,
                        volumeBytes >> 20,
                        (written - t0) / 1_000_000,
                        (added - written) / 1_000_000,
                        (rebuilt - added) / 1_000_000,
                        (System.nanoTime() - rebuilt) / 1_000_000);
            }

            List<Path> current = new ArrayList<>(members);
            current.set(1, replacement);
            KernelMd.Result md = KernelMd.run(current, KernelMd.Options.checkAndCompare(volumeBytes, data));
            System.out.printf("RAID-%d: %s%n", level, md.summary());
            assertTrue(md.assembled(), "md assembles raidd's members\n" + md.describe());
            assertTrue(md.errors().isEmpty(), md.describe());
            md.examineArrayStates()
                    .forEach((dev, state) ->
                            assertEquals("A".repeat(memberCount), state, dev + " Array State\n" + md.describe()));
            assertEquals(memberCount, md.detailInt("Raid Devices"), md.describe());
            assertEquals(memberCount, md.detailInt("Active Devices"), md.describe());
            assertEquals("0", md.value("at_assembly.degraded"), md.describe());
            assertEquals("none", md.value("at_assembly.resync_start"), "md saw a clean array\n" + md.describe());
            assertEquals("idle", md.value("at_assembly.sync_action"), "no resync or recovery\n" + md.describe());
            Map<String, String> devices = md.devices("at_assembly");
            assertEquals(memberCount, devices.size(), md.describe());
            devices.forEach((dev, sysfs) -> {
                assertTrue(sysfs.contains("state=in_sync"), dev + " " + sysfs + "\n" + md.describe());
                assertTrue(sysfs.contains("recovery_start=none"), dev + " " + sysfs + "\n" + md.describe());
            });
            assertEquals(0L, md.mismatchCnt(), "md's check\n" + md.describe());
            assertEquals(volumeBytes, md.sizeBytes(), "md's array size is raidd's volume size\n" + md.describe());
            assertEquals(
                    -1L,
                    md.contentFirstDifference(),
                    "the array device holds what was written (first difference at that offset)\n" + md.summary());
            assertEquals(KernelMd.sha256(data, volumeBytes), md.contentSha256());

            // Negative control: one flipped byte in a member's data area (data or parity,
            // depending on the stripe; for RAID-10 one of two copies) must make md's check
            // count mismatches.
            Path victim = current.get(2);
            Superblock sb = Scratch.superblock(victim);
            long at = sb.dataOffsetBytes() + 5 * (64L << 10) + 4321;
            try (RandomAccessFile f = new RandomAccessFile(victim.toFile(), "rw")) {
                f.seek(at);
                int b = f.read();
                f.seek(at);
                f.write(b ^ 0x5a);
            }
            KernelMd.Result bad = KernelMd.check(current);
            System.out.printf(
                    "RAID-%d negative control (byte %d of %s flipped): %s%n", level, at, victim, bad.summary());
            assertTrue(bad.assembled(), bad.describe());
            assertTrue(bad.mismatchCnt() > 0, "md's check sees the flipped byte\n" + bad.describe());
        }
    }

    /** The volume's sync status once a rebuild has brought {@code bytes} of the new member in sync. */
    private static JsonNode awaitRebuildPast(Path control, String name, long bytes) throws Exception {
        long deadlineNs = System.nanoTime() + TOOL.toNanos();
        while (true) {
            JsonNode sync = syncStatus(control, name);
            assertEquals("rebuild", sync.path("action").asText(), "rebuilding: " + sync);
            if (sync.path("doneBytes").asLong() >= bytes) {
                return sync;
            }
            assertTrue(System.nanoTime() < deadlineNs, "the rebuild did not pass " + bytes + " bytes: " + sync);
            Thread.sleep(200);
        }
    }

    private static JsonNode syncStatus(Path control, String name) throws Exception {
        JsonNode json = new ObjectMapper().readTree(raidctl(control, "status", "--json", name));
        for (JsonNode v : json.path("volumes")) {
            if (v.path("name").asText().equals(name)) {
                return v.path("sync");
            }
        }
        throw new AssertionError("no volume " + name + " in " + json);
    }

    private static String raidctl(Path control, String... args) throws Exception {
        List<String> all = new ArrayList<>(List.of("--control", control.toString()));
        all.addAll(List.of(args));
        JarProcess p = JarProcess.run(JarProcess.RAIDCTL, TOOL, all);
        assertEquals(0, p.exitCode(), p.describe());
        return String.join("\n", p.stdout());
    }
}
