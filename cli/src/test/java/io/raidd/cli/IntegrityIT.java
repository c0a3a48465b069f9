package io.raidd.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Integrity tags as a client sees them: bits flipped in live members' images ({@code raidctl inject
 * --flip-bits}, written to the image behind raidd's back) never reach a real NBD client (nbdcopy,
 * fio with crc32c verification), and a daemon killed in the middle of writes reports no corruption
 * that is not there once its resync has run.
 */
class IntegrityIT {
    private static final Duration TIMEOUT = Duration.ofMinutes(3);
    private static final long SEED = Long.getLong("raidd.test.seed", System.nanoTime());

    static {
        System.out.println("IntegrityIT seed " + SEED);
    }

    private static long checksumErrors(JsonNode volume) {
        long sum = 0;
        for (JsonNode m : volume.path("members")) {
            sum += m.path("checksumErrors").asLong();
        }
        return sum;
    }

    private static long ioCounter(RaiddProcess raidd, String volume, String counter) {
        try {
            return raidd.status(volume).path("io").path(counter).asLong();
        } catch (Exception e) {
            throw new RuntimeException(e);
        }
    }

    private static String readBack(RaiddProcess raidd, long bytes) throws Exception {
        try {
            return ExternalClientsIT.sha256OfOutput(
                    List.of(Tools.require("nbdcopy", "libnbd-bin"), raidd.uri, "-"), bytes);
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "\nraidd: " + raidd.process.describe(), e);
        }
    }

    /** Fills the volume with seeded random data through NBD; returns its sha256. */
    private static String fill(RaiddProcess raidd, Scratch scratch, long bytes) throws Exception {
        Path data = scratch.resolve("data.raw");
        ExternalClientsIT.writeRandomFile(data, bytes, SEED);
        Tools.run(TIMEOUT, Tools.require("nbdcopy", "libnbd-bin"), data.toString(), raidd.uri)
                .assertSuccess();
        String sha = ExternalClientsIT.sha256(data, bytes);
        Files.delete(data);
        return sha;
    }

    @ParameterizedTest(name = "RAID-{0} of {1}, --verify-reads {2}: flipped bits are {3}")
    @CsvSource({"5, 4, on, healed on read", "6, 5, on, healed on read", "1, 2, on, healed on read", "5, 4, off, served"
    })
    void bitsFlippedInLiveMembers(int level, int n, String verify, String outcome) throws Exception {
        try (Scratch scratch = new Scratch("raidd-flip-")) {
            List<Path> members = scratch.members("m", n);
            Scratch.create(level, "64K", "16M", "flip", members);
            try (RaiddProcess raidd =
                    RaiddProcess.start(members, "--allow-fault-injection", "--verify-reads", verify)) {
                long bytes = raidd.status("flip").path("sizeBytes").asLong();
                String expected = fill(raidd, scratch, bytes);
                // Into as many members as the level survives: every flip is recoverable wherever
                // it lands (two in one block row of a RAID-5 are not, and would rightly fail).
                int flips = 0;
                for (int slot = 0; slot < (level == 6 ? 2 : 1); slot++) {
                    String said = raidd.ok("inject", "flip", Integer.toString(slot), "--flip-bits", "80");
                    assertTrue(said.contains("80 bits flipped"), said);
                    flips += 80;
                }
                String got = readBack(raidd, bytes);
                JsonNode status = raidd.status("flip");
                System.out.printf(
                        "RAID-%d --verify-reads %s: %d bits flipped, %d blocks failed their tags on read%n",
                        level, verify, flips, checksumErrors(status));
                if (verify.equals("off")) {
                    // Without the tags' check the flips are served: what the check protects against.
                    assertNotEquals(expected, got, "rotten data served without verification");
                    assertEquals(0, checksumErrors(status));
                    assertEquals(0, raidd.terminate());
                    return;
                }
                assertEquals(expected, got, "seed " + SEED + ": the client read exactly what it wrote");
                long found = checksumErrors(status);
                assertTrue(found > 0, "the flips were found: " + status);
                assertTrue(status.path("integrity").path("verifyReads").asBoolean(), status.toString());
                // Repaired in place: a second read finds nothing new.
                assertEquals(expected, readBack(raidd, bytes));
                assertEquals(found, checksumErrors(raidd.status("flip")), "nothing left to find on data blocks");
                assertTrue(found <= flips, "each bad block counted once: " + found + " of " + flips);
                assertEquals(0, raidd.terminate());
            }
        }
    }

    @Test
    void liveFlipsNeverReachAVerifyingFioLoad() throws Exception {
        try (Scratch scratch = new Scratch("raidd-fioflip-")) {
            List<Path> members = scratch.members("m", 5);
            Scratch.create(6, "64K", "48M", "flip", members);
            Path output = scratch.resolve("fio.json");
            try (RaiddProcess raidd = RaiddProcess.start(members, "--allow-fault-injection")) {
                long bytes = raidd.status("flip").path("sizeBytes").asLong();
                fill(raidd, scratch, bytes);
                // fio rewrites and verifies the first half; the flips land anywhere in two of the
                // members (RAID-6 recovers any two in a row), so also in blocks fio is about to read
                // back, in P and Q blocks its writes read, and in the other half.
                CompletableFuture<Tools.Result> load = CompletableFuture.supplyAsync(() -> {
                    try {
                        return Tools.run(
                                TIMEOUT,
                                List.of(
                                        Tools.require("fio", "fio"),
                                        "--name=flip",
                                        "--ioengine=nbd",
                                        "--uri=" + raidd.uri,
                                        "--rw=randrw",
                                        "--bs=4k",
                                        "--iodepth=8",
                                        "--numjobs=2",
                                        "--size=" + bytes / 4,
                                        "--offset_increment=" + bytes / 4,
                                        "--verify=crc32c",
                                        "--verify_fatal=1",
                                        "--verify_backlog=64",
                                        "--verify_state_save=0",
                                        "--time_based",
                                        "--runtime=15",
                                        "--output-format=json",
                                        "--output=" + output));
                    } catch (Exception e) {
                        throw new RuntimeException(e);
                    }
                });
                // As many rounds as raidctl can make while fio runs (each is a process and a request).
                int injections = 0;
                while (!load.isDone()) {
                    raidd.ok("inject", "flip", Integer.toString(injections % 2), "--flip-bits", "256");
                    injections++;
                }
                Tools.Result r = load.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
                String json = Files.exists(output) ? Files.readString(output) : "";
                assertEquals(0, r.exitCode(), r.stderr() + json + "\nraidd: " + raidd.process.describe());
                assertTrue(!json.contains("verify failed") && !json.contains("bad header"), json);
                // The rest of the volume, read through: everything there heals too.
                Tools.run(TIMEOUT, Tools.require("nbdcopy", "libnbd-bin"), raidd.uri, "null:")
                        .assertSuccess();
                JsonNode status = raidd.status("flip");
                System.out.printf(
                        "RAID-6 under fio: %d rounds of 256 flipped bits, %d blocks failed their tags, fio clean%n",
                        injections, checksumErrors(status));
                assertTrue(injections >= 2, "flips while fio ran: " + injections);
                assertTrue(checksumErrors(status) > 0, status.toString());
                assertEquals(0, raidd.terminate());
            }
        }
    }

    @Test
    void aKillDuringWritesLeavesNoFalseCorruptionAfterTheResync() throws Exception {
        try (Scratch scratch = new Scratch("raidd-killtags-")) {
            List<Path> members = scratch.members("m", 4);
            Scratch.create(5, "64K", "48M", "kill", members);
            long bytes;
            try (RaiddProcess raidd = RaiddProcess.start(members)) {
                bytes = raidd.status("kill").path("sizeBytes").asLong();
                // Every block written and the array clean again: the members' tags are on disk, so
                // the writes below leave them stale there until flushed, as a crash finds them.
                fill(raidd, scratch, bytes);
                Await.until(
                        () -> {
                            try {
                                return !raidd.status("kill").path("dirty").asBoolean(true);
                            } catch (Exception e) {
                                throw new RuntimeException(e);
                            }
                        },
                        Duration.ofSeconds(60),
                        "clean again after the fill");
                CompletableFuture<Tools.Result> load = CompletableFuture.supplyAsync(() -> {
                    try {
                        return Tools.run(
                                TIMEOUT,
                                List.of(
                                        Tools.require("fio", "fio"),
                                        "--name=kill",
                                        "--ioengine=nbd",
                                        "--uri=" + raidd.uri,
                                        "--rw=randwrite",
                                        "--bs=4k",
                                        "--iodepth=16",
                                        "--size=" + bytes,
                                        "--time_based",
                                        "--runtime=60"));
                    } catch (Exception e) {
                        throw new RuntimeException(e);
                    }
                });
                // Killed in full flight: tags of the last writes may not be on the members.
                Await.until(
                        () -> ioCounter(raidd, "kill", "writeOps") > 40_000,
                        Duration.ofSeconds(60),
                        "writes in flight");
                raidd.kill();
                load.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
            }
            try (RaiddProcess raidd = RaiddProcess.start(members)) {
                assertEquals(0, raidd.raidctl("wait", "kill").exitCode(), "the resync ran and the volume is clean");
                Tools.run(TIMEOUT, Tools.require("nbdcopy", "libnbd-bin"), raidd.uri, "null:")
                        .assertSuccess();
                JsonNode status = raidd.status("kill");
                System.out.printf(
                        "after kill -9 under writes and a resync: %d blocks failed their tags%n",
                        checksumErrors(status));
                assertEquals(0, checksumErrors(status), "no corruption where there is none: " + status);
                assertEquals(0, raidd.terminate());
            }
        }
    }
}
