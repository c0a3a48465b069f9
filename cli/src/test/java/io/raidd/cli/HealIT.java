package io.raidd.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.raidd.blockdev.FileBlockDevice;
import io.raidd.testimages.MdOracle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Healing while serving, as an operator does it: raidd and raidctl as separate processes, a real
 * NBD client (fio with crc32c verification, or nbdcopy) on the volume, members on image files.
 * Afterwards every member is checked against what md's layout says it must hold, computed from the
 * raw image bytes by {@link MdOracle}, independently of raidd's engine.
 */
class HealIT {
    private static final Duration FIO_TIMEOUT = Duration.ofMinutes(3);
    private static final long SEED = Long.getLong("raidd.test.seed", System.nanoTime());
    /** The rebuild is slowed to this while fio runs, so it certainly happens under load. */
    private static final String[] RATES = {"--rebuild-max", "16M", "--rebuild-min", "8M"};

    private static CompletableFuture<Tools.Result> fio(String uri, Path output, int seconds, long jobBytes) {
        return VerifyingFio.start(VerifyingFio.args("heal", uri, output, seconds, jobBytes), FIO_TIMEOUT);
    }

    /** fio exited 0, every job reported error 0, and it did verify blocks. */
    private static void assertFioClean(Tools.Result r, Path output, RaiddProcess raidd) throws Exception {
        String json = Files.exists(output) ? Files.readString(output) : "";
        assertEquals(0, r.exitCode(), r.command() + "\n" + r.stderr() + json + "\nraidd: " + raidd.process.describe());
        JsonNode root = new com.fasterxml.jackson.databind.ObjectMapper().readTree(json);
        long verified = 0;
        for (JsonNode job : root.path("jobs")) {
            assertEquals(0, job.path("error").asInt(), json);
            verified += job.path("read").path("io_bytes").asLong();
            assertTrue(job.path("write").path("io_bytes").asLong() > 0, json);
        }
        assertTrue(verified > 0, "fio read back and verified blocks while writing\n" + json);
        assertFalse(json.contains("verify failed"), json);
    }

    /** What md would say of the members: every stripe's parity, or every chunk's copies, consistent. */
    static List<String> mdMismatches(int level, List<Path> members) throws Exception {
        var sb = Scratch.superblock(members.get(0));
        List<FileBlockDevice> devices = new ArrayList<>();
        List<MdOracle.Member> raw = new ArrayList<>();
        try {
            for (Path p : members) {
                FileBlockDevice d = FileBlockDevice.open(p, true);
                devices.add(d);
                raw.add(new MdOracle.Member(d, Scratch.superblock(p).dataOffsetBytes()));
            }
            int chunk = level == 1 ? 64 * 1024 : sb.chunkBytes();
            return MdOracle.mismatches(raw, level, sb.layout(), chunk, sb.sizeBytes(), 5);
        } finally {
            for (FileBlockDevice d : devices) {
                d.close();
            }
        }
    }

    @ParameterizedTest(name = "RAID-{0} of {1}: {2} failed and replaced under a verifying fio load")
    @CsvSource({"5, 4, 1", "6, 6, 2", "1, 3, 1", "10, 4, 1"})
    void failedMembersAreRebuiltWhileFioVerifies(int level, int n, int failing) throws Exception {
        try (Scratch scratch = new Scratch("raidd-heal-")) {
            List<Path> members = scratch.members("m", n);
            // Allocated members: the rebuild copies all 64M of each (no holes to skip) under the load.
            Scratch.create(level, "64K", "64M", "heal", members, "--preallocate");
            Path output = scratch.resolve("fio.json");
            List<Path> current = new ArrayList<>(members);
            try (RaiddProcess raidd = RaiddProcess.start(members, RATES)) {
                long volumeBytes = raidd.status("heal").path("sizeBytes").asLong();
                CompletableFuture<Tools.Result> load = fio(raidd.uri, output, 30, volumeBytes / 2);
                List<Integer> slots = failing == 1 ? List.of(1) : List.of(1, 3);
                for (int slot : slots) {
                    assertTrue(raidd.ok("fail", "heal", Integer.toString(slot)).contains("faulty"));
                }
                JsonNode degraded = raidd.status("heal");
                assertEquals("degraded", degraded.path("state").asText(), degraded.toString());
                for (int slot : slots) {
                    Path fresh = scratch.resolve("new" + slot + ".img");
                    String added = raidd.ok("add", "heal", fresh.toString());
                    assertTrue(added.contains("rebuilding slot " + slot), added);
                    current.set(slot, fresh);
                }
                JsonNode rebuilding = raidd.status("heal");
                assertEquals("rebuilding", rebuilding.path("state").asText(), rebuilding.toString());
                long start = System.nanoTime();
                // The rebuild runs under the load: fio's writes go on while it is still rebuilding.
                long writesBefore = rebuilding.path("io").path("writeOps").asLong();
                java.util.concurrent.atomic.AtomicReference<JsonNode> during =
                        new java.util.concurrent.atomic.AtomicReference<>(rebuilding);
                Await.until(
                        () -> {
                            during.set(statusQuietly(raidd));
                            return during.get().path("io").path("writeOps").asLong() > writesBefore + 1000
                                    || !during.get().path("state").asText().equals("rebuilding");
                        },
                        FIO_TIMEOUT,
                        "writes during the rebuild");
                assertEquals(
                        "rebuilding",
                        during.get().path("state").asText(),
                        "fio wrote 1000 blocks while the rebuild ran: " + during.get());
                JarProcess wait = raidd.raidctl("wait", "heal");
                assertEquals(0, wait.exitCode(), wait.describe());
                long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
                JsonNode healed = raidd.status("heal");
                assertEquals("clean", healed.path("state").asText(), healed.toString());
                for (JsonNode m : healed.path("members")) {
                    if (m.path("slot").asInt() >= 0) {
                        assertEquals("active", m.path("state").asText(), healed.toString());
                        assertEquals(
                                current.get(m.path("slot").asInt()).toString(),
                                m.path("path").asText());
                    }
                }
                assertFioClean(load.get(FIO_TIMEOUT.toSeconds(), TimeUnit.SECONDS), output, raidd);
                assertEquals(0, raidd.terminate());
                System.out.printf("RAID-%d of %d: %d members rebuilt under fio in %d ms%n", level, n, slots.size(), ms);
            }
            assertEquals(List.of(), mdMismatches(level, current), "members as md computes them");
        }
    }

    @Test
    void hotReplaceNeverLowersRedundancyEvenWhenAnotherMemberFails() throws Exception {
        try (Scratch scratch = new Scratch("raidd-replace-")) {
            List<Path> members = scratch.members("m", 4);
            // Allocated members (nothing for the rebuild to skip) and a crawling rebuild: the replace
            // is surely still running when the other member fails; then it is let go.
            Scratch.create(5, "64K", "64M", "heal", members, "--preallocate");
            Path output = scratch.resolve("fio.json");
            try (RaiddProcess raidd = RaiddProcess.start(members, "--rebuild-max", "256K", "--rebuild-min", "256K")) {
                long volumeBytes = raidd.status("heal").path("sizeBytes").asLong();
                CompletableFuture<Tools.Result> load = fio(raidd.uri, output, 30, volumeBytes / 2);
                Path fresh = scratch.resolve("new2.img");
                String started = raidd.ok("replace", "heal", members.get(2).toString(), fresh.toString());
                assertTrue(started.contains("replace"), started);
                JsonNode replacing = raidd.status("heal");
                assertEquals(
                        0,
                        replacing.path("members").findValues("state").stream()
                                .filter(s -> s.asText().equals("faulty"))
                                .count(),
                        "nothing failed by the replace");
                assertTrue(
                        replacing.toString().contains("\"replacing\":\"" + members.get(2) + "\""),
                        replacing.toString());
                // Another member dies in the middle: the member being replaced still serves its
                // slot, so the volume has what it needs and fio sees nothing.
                raidd.ok("fail", "heal", "0");
                raidd.ok("rebuild", "heal", "--speed-limit", "16M", "--min", "8M");
                JarProcess wait = raidd.raidctl("wait", "heal");
                assertEquals(1, wait.exitCode(), "not healthy yet: slot 0 is faulty\n" + wait.describe());
                JsonNode after = raidd.status("heal");
                assertEquals("degraded", after.path("state").asText(), after.toString());
                assertTrue(RaiddProcess.states(after).contains("2:active"), after.toString());
                assertTrue(after.toString().contains("\"path\":\"" + fresh + "\""), after.toString());
                assertFalse(
                        after.toString().contains("\"path\":\"" + members.get(2) + "\""),
                        "the replaced member left the array: " + after);
                Path spare = scratch.resolve("spare.img");
                raidd.ok("add", "heal", spare.toString());
                assertEquals(0, raidd.raidctl("wait", "heal").exitCode());
                assertFioClean(load.get(FIO_TIMEOUT.toSeconds(), TimeUnit.SECONDS), output, raidd);
                assertEquals(0, raidd.terminate());
                assertEquals(List.of(), mdMismatches(5, List.of(spare, members.get(1), fresh, members.get(3))));
            }
        }
    }

    @Test
    void aRebuildResumesFromItsCheckpointAfterKill9() throws Exception {
        try (Scratch scratch = new Scratch("raidd-resume-")) {
            List<Path> members = scratch.members("m", 5);
            Scratch.create(6, "64K", "64M", "heal", members);
            Path data = scratch.resolve("data.raw");
            long dataBytes = 128L << 20;
            ExternalClientsIT.writeRandomFile(data, dataBytes, SEED);
            String expected = ExternalClientsIT.sha256(data, dataBytes);
            Path fresh = scratch.resolve("new1.img");
            List<Path> all = new ArrayList<>(members);
            all.add(fresh);
            try (RaiddProcess raidd =
                    RaiddProcess.start(members, "--rebuild-max", "8M", "--safe-mode-delay", "200ms")) {
                Tools.run(FIO_TIMEOUT, Tools.require("nbdcopy", "libnbd-bin"), data.toString(), raidd.uri)
                        .assertSuccess();
                Await.until(
                        () -> !statusQuietly(raidd).path("dirty").asBoolean(true),
                        Duration.ofSeconds(30),
                        "clean again");
                raidd.ok("fail", "heal", "1");
                raidd.ok("add", "heal", fresh.toString());
                // Past a checkpoint (every 2 s), but far from done at 8 MiB/s.
                Await.until(
                        () -> Scratch.superblock(fresh).recoveryOffsetSectors() * 512 > (8L << 20),
                        Duration.ofSeconds(60),
                        "a checkpoint on the new member");
                raidd.kill();
            }
            long checkpoint = Scratch.superblock(fresh).recoveryOffsetSectors() * 512;
            try (RaiddProcess raidd = RaiddProcess.start(all, "--rebuild-max", "8M")) {
                java.util.regex.Matcher logged = raidd.process.awaitStderr(
                        "rebuilding " + java.util.regex.Pattern.quote(fresh.toString()) + " into slot 1 from (\\d+) of",
                        Duration.ofSeconds(30));
                long loggedFrom = Long.parseLong(logged.group(1));
                System.out.printf(
                        "rebuild resumed from %d bytes (the checkpoint on the new member: %d) after kill -9%n",
                        loggedFrom, checkpoint);
                assertTrue(checkpoint > 0, "there was a checkpoint to resume from");
                assertEquals(checkpoint, loggedFrom, "resumed exactly from the checkpoint");
                assertEquals(0, raidd.raidctl("wait", "heal").exitCode());
                assertEquals(
                        expected,
                        ExternalClientsIT.sha256OfOutput(
                                List.of(Tools.require("nbdcopy", "libnbd-bin"), raidd.uri, "-"), dataBytes));
                assertEquals(0, raidd.terminate());
            }
            assertEquals(
                    List.of(),
                    mdMismatches(6, List.of(members.get(0), fresh, members.get(2), members.get(3), members.get(4))));
        }
    }

    /**
     * Waits until {@code monitor} receives events: a harmless injection (clearing nothing) is
     * announced until the monitor shows one.
     */
    private static void awaitSubscribed(RaiddProcess raidd, JarProcess monitor, Path member) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (true) {
            raidd.ok("inject", "heal", member.toString(), "--clear");
            try {
                monitor.awaitStdout(
                        "FaultInjected heal " + member + ": injected faults cleared", Duration.ofMillis(500));
                return;
            } catch (AssertionError notYet) {
                if (System.nanoTime() > deadline) {
                    throw notYet;
                }
            }
        }
    }

    private static JsonNode statusQuietly(RaiddProcess raidd) {
        try {
            return raidd.status("heal");
        } catch (Exception e) {
            throw new RuntimeException(e);
        }
    }

    @Test
    void aSurvivorThatCannotReadDuringARaid6RebuildIsWorkedAround() throws Exception {
        try (Scratch scratch = new Scratch("raidd-eio-")) {
            List<Path> members = scratch.members("m", 5);
            Scratch.create(6, "64K", "64M", "heal", members);
            Path data = scratch.resolve("data.raw");
            long dataBytes = 150L << 20;
            ExternalClientsIT.writeRandomFile(data, dataBytes, SEED + 1);
            String expected = ExternalClientsIT.sha256(data, dataBytes);
            Path fresh = scratch.resolve("new0.img");
            try (RaiddProcess raidd = RaiddProcess.start(members, "--allow-fault-injection")) {
                Tools.run(FIO_TIMEOUT, Tools.require("nbdcopy", "libnbd-bin"), data.toString(), raidd.uri)
                        .assertSuccess();
                raidd.ok("fail", "heal", "0");
                raidd.ok("inject", "heal", "2", "--eio-read", "2M+8M");
                raidd.ok("add", "heal", fresh.toString());
                assertEquals(0, raidd.raidctl("wait", "heal").exitCode());
                JsonNode healed = raidd.status("heal");
                assertEquals("clean", healed.path("state").asText(), healed.toString());
                assertEquals(0, healed.path("lostRanges").size(), healed.toString());
                JsonNode two = healed.path("members").get(2);
                assertEquals("active", two.path("state").asText(), "a read error does not fail a member");
                assertTrue(two.path("readErrors").asLong() > 0, healed.toString());
                assertTrue(two.path("correctedReads").asLong() > 0, "its unreadable blocks were rewritten: " + healed);
                raidd.ok("inject", "heal", "2", "--clear");
                assertEquals(
                        expected,
                        ExternalClientsIT.sha256OfOutput(
                                List.of(Tools.require("nbdcopy", "libnbd-bin"), raidd.uri, "-"), dataBytes));
                assertEquals(0, raidd.terminate());
            }
            assertEquals(
                    List.of(),
                    mdMismatches(6, List.of(fresh, members.get(1), members.get(2), members.get(3), members.get(4))));
        }
    }

    @Test
    void aFailureDrillDrivenByInjectIsFollowedByMonitor() throws Exception {
        try (Scratch scratch = new Scratch("raidd-drill-")) {
            List<Path> members = scratch.members("m", 4);
            Scratch.create(5, "64K", "32M", "heal", members);
            Path program = scratch.resolve("on-event.sh");
            Path log = scratch.resolve("events.log");
            Files.writeString(program, "#!/bin/sh\necho \"$@\" >> " + log + "\n");
            Files.setPosixFilePermissions(program, PosixFilePermissions.fromString("rwx------"));
            try (RaiddProcess raidd = RaiddProcess.start(members, "--allow-fault-injection")) {
                assertEquals(
                        "rw-------",
                        PosixFilePermissions.toString(Files.getPosixFilePermissions(raidd.control)),
                        "the control socket is for its owner only");
                JarProcess monitor = JarProcess.start(
                        JarProcess.RAIDCTL,
                        List.of("--control", raidd.control.toString(), "monitor", "--program", program.toString()));
                awaitSubscribed(raidd, monitor, members.get(1));
                String injected = raidd.ok("inject", "heal", "1", "--fail");
                assertTrue(injected.contains("injected"), injected);
                // Any I/O that touches the member finds it failed.
                Tools.run(FIO_TIMEOUT, Tools.require("nbdcopy", "libnbd-bin"), raidd.uri, "null:")
                        .assertSuccess();
                monitor.awaitStdout("FaultInjected heal " + members.get(1), Duration.ofSeconds(30));
                monitor.awaitStdout("Fail heal " + members.get(1), Duration.ofSeconds(30));
                monitor.awaitStdout("DegradedArray heal", Duration.ofSeconds(30));
                raidd.ok("add", "heal", scratch.resolve("spare.img").toString());
                monitor.awaitStdout("RebuildStarted heal", Duration.ofSeconds(30));
                monitor.awaitStdout("RebuildFinished heal", Duration.ofSeconds(60));
                monitor.awaitStdout("SpareActive heal", Duration.ofSeconds(60));
                Await.until(
                        () -> {
                            try {
                                return Files.exists(log)
                                        && Files.readString(log).contains("SpareActive heal");
                            } catch (java.io.IOException e) {
                                return false;
                            }
                        },
                        Duration.ofSeconds(30),
                        "the monitor's program ran for every event");
                String events = Files.readString(log);
                assertTrue(events.contains("Fail heal " + members.get(1)), events);
                assertTrue(events.contains("RebuildStarted heal"), events);
                monitor.close();
                assertEquals(0, raidd.terminate());
                assertNotEquals("", events);
            }
        }
    }
}
