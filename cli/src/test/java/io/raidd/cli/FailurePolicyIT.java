package io.raidd.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.raidd.raid.md.SuperblockDescriptor;
import java.io.File;
import java.io.RandomAccessFile;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * What counts as a failed member, and getting an array back, tried the way it goes wrong for an
 * operator, with raidd as a process on real files: a member truncated under a verifying load, a
 * member that hangs for good (a FUSE file whose server is paused), members on a file system that
 * fills up, an array whose members were all marked faulty, and the same member given twice.
 */
class FailurePolicyIT {
    private static final Duration FIO_TIMEOUT = Duration.ofMinutes(3);
    private static final Duration TOOL = Duration.ofMinutes(2);
    private static final long SEED = Long.getLong("raidd.test.seed", System.nanoTime());

    private static List<String> fio(String uri, Path output, int seconds, long jobBytes) {
        return VerifyingFio.args("policy", uri, output, seconds, jobBytes);
    }

    private static CompletableFuture<Tools.Result> start(List<String> command) {
        return VerifyingFio.start(command, FIO_TIMEOUT);
    }

    /** fio's report after a clean run (exit 0, no job error, blocks verified). */
    private static JsonNode assertFioClean(Tools.Result r, Path output) throws Exception {
        String json = Files.exists(output) ? Files.readString(output) : "";
        assertEquals(0, r.exitCode(), r.command() + "\n" + r.stderr() + json);
        JsonNode root = new ObjectMapper().readTree(json);
        long verified = 0;
        for (JsonNode job : root.path("jobs")) {
            assertEquals(0, job.path("error").asInt(), json);
            verified += job.path("read").path("io_bytes").asLong();
        }
        assertTrue(verified > 0, "fio verified blocks\n" + json);
        assertFalse(json.contains("verify failed"), json);
        return root;
    }

    private static JsonNode member(JsonNode volume, int slot) {
        for (JsonNode m : volume.path("members")) {
            if (m.path("slot").asInt() == slot) {
                return m;
            }
        }
        throw new AssertionError("no slot " + slot + " in " + volume);
    }

    @ParameterizedTest(name = "a RAID-6 member truncated to {0} under a verifying load")
    @ValueSource(strings = {"zero", "half"})
    void aMemberTruncatedUnderLoadIsFailedAndNothingWrongIsServed(String to) throws Exception {
        try (Scratch scratch = new Scratch("raidd-truncate-")) {
            List<Path> members = scratch.members("m", 5);
            Scratch.create(6, "64K", "64M", "policy", members);
            Path output = scratch.resolve("fio.json");
            try (RaiddProcess raidd = RaiddProcess.start(members)) {
                long volumeBytes = raidd.status("policy").path("sizeBytes").asLong();
                CompletableFuture<Tools.Result> load = start(fio(raidd.uri, output, 12, volumeBytes / 2));
                Await.until(() -> Files.exists(output) || !load.isDone(), Duration.ofSeconds(5), "fio running");
                Path victim = members.get(2);
                long size = Files.size(victim);
                // Let the load get going, then cut the member short under it.
                awaitWrites(raidd, 2000);
                try (RandomAccessFile f = new RandomAccessFile(victim.toFile(), "rw")) {
                    f.setLength(to.equals("zero") ? 0 : size / 2);
                }
                JsonNode report = assertFioClean(load.get(FIO_TIMEOUT.toSeconds(), TimeUnit.SECONDS), output);
                assertTrue(report.path("jobs").size() == 2);
                JsonNode volume = raidd.status("policy");
                JsonNode m = member(volume, 2);
                assertEquals("faulty", m.path("state").asText(), volume.toString());
                assertTrue(
                        m.path("reason").asText().contains("shrank")
                                || m.path("reason").asText().contains("gone"),
                        volume.toString());
                raidd.process.awaitStderr(
                        "DeviceDisappeared policy " + java.util.regex.Pattern.quote(victim.toString()),
                        Duration.ofSeconds(10));
                assertTrue(Files.size(victim) <= size / 2, "never written past its end: " + Files.size(victim));
                assertEquals(0, raidd.terminate());
            }
        }
    }

    @Test
    void aMemberThatHangsForGoodDelaysNoRequestBeyondTheTimeoutAndDoesNotHoldUpShutdown() throws Exception {
        try (Scratch scratch = new Scratch("raidd-hang-")) {
            List<Path> members = scratch.members("m", 4);
            Scratch.create(5, "64K", "64M", "policy", members);
            Path backing = scratch.resolve("backing-m2.img");
            Files.move(members.get(2), backing);
            Path nbdSocket = scratch.resolve("m2.nbd");
            Path control = scratch.resolve("m2.pause");
            Path fuseDir = scratch.resolve("fuse");
            Files.createDirectories(fuseDir);
            Path log = scratch.resolve("nbdkit.log");
            Process nbdkit = new ProcessBuilder(
                            Tools.require("nbdkit", "nbdkit"),
                            "-f",
                            "-U",
                            nbdSocket.toString(),
                            "--filter=pause",
                            "file",
                            backing.toString(),
                            "pause-control=" + control)
                    .redirectErrorStream(true)
                    .redirectOutput(log.toFile())
                    .start();
            Process nbdfuse = null;
            try {
                Await.until(() -> Files.exists(nbdSocket) && Files.exists(control), TOOL, "nbdkit sockets");
                Path fused = fuseDir.resolve("m2.img");
                nbdfuse = new ProcessBuilder(
                                Tools.require("nbdfuse", "nbdfuse"),
                                fused.toString(),
                                "nbd+unix:///?socket=" + nbdSocket)
                        .redirectErrorStream(true)
                        .redirectOutput(scratch.resolve("nbdfuse.log").toFile())
                        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                        .start();
                Process fuse = nbdfuse;
                Await.until(() -> Files.exists(fused) || !fuse.isAlive(), TOOL, "nbdfuse to serve " + fused);
                List<Path> served = new ArrayList<>(members);
                served.set(2, fused);
                Path output = scratch.resolve("fio.json");
                long timeoutMs = 3000;
                try (RaiddProcess raidd = RaiddProcess.start(served, "--member-timeout", timeoutMs / 1000 + "s")) {
                    long volumeBytes = raidd.status("policy").path("sizeBytes").asLong();
                    CompletableFuture<Tools.Result> load = start(fio(raidd.uri, output, 15, volumeBytes / 2));
                    awaitWrites(raidd, 2000);
                    pause(control, 'p'); // from now on every I/O to m2 hangs, for good
                    JsonNode report = assertFioClean(load.get(FIO_TIMEOUT.toSeconds(), TimeUnit.SECONDS), output);
                    long maxNs = 0;
                    for (JsonNode job : report.path("jobs")) {
                        maxNs = Math.max(
                                maxNs,
                                job.path("write").path("clat_ns").path("max").asLong());
                        maxNs = Math.max(
                                maxNs,
                                job.path("read").path("clat_ns").path("max").asLong());
                    }
                    System.out.printf(
                            "hung member: fio's worst latency %d ms (member timeout %d ms)%n",
                            maxNs / 1_000_000, timeoutMs);
                    assertTrue(maxNs / 1_000_000 <= timeoutMs + 2000, "worst latency " + maxNs / 1_000_000 + " ms");
                    JsonNode volume = raidd.status("policy");
                    assertEquals("faulty", member(volume, 2).path("state").asText(), volume.toString());
                    assertTrue(member(volume, 2).path("reason").asText().contains("timed out"), volume.toString());
                    // raidd's own shutdown must not wait for the hung member. The process itself can
                    // only end once the kernel lets go of the threads stuck in it: a FUSE request that
                    // reached its server is waited for uninterruptibly (even SIGKILL waits), for any
                    // program. So: its shutdown is timed up to "stopped clean", and then the FUSE
                    // server is killed (what an operator does to a dead disk), which aborts those
                    // requests, and the exit follows.
                    long stop = System.nanoTime();
                    raidd.process.sigterm();
                    raidd.process.awaitStderr("array policy stopped clean", Duration.ofSeconds(30));
                    long stopMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - stop);
                    System.out.printf("SIGTERM with the member still hung: raidd stopped clean in %d ms%n", stopMs);
                    assertTrue(stopMs < 15_000, "shutdown took " + stopMs + " ms");
                    fuse.toHandle().destroyForcibly();
                    long released = System.nanoTime();
                    assertEquals(0, raidd.process.awaitExit(Duration.ofSeconds(30)), raidd.process.describe());
                    System.out.printf(
                            "raidd exited %d ms after the FUSE server was killed%n",
                            TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - released));
                }
                // The survivors' superblocks say what happened.
                assertEquals(
                        SuperblockDescriptor.ROLE_FAULTY,
                        Scratch.superblock(members.get(0)).devRole(2),
                        "m2 recorded as faulty");
                assertTrue(Scratch.superblock(members.get(0)).clean(), "stopped clean");
            } finally {
                if (Files.exists(control)) {
                    pause(control, 'r');
                }
                if (nbdfuse != null) {
                    Tools.run(TOOL, Tools.require("fusermount3", "fuse3"), "-u", fuseDir.toString());
                    nbdfuse.waitFor(30, TimeUnit.SECONDS);
                    nbdfuse.destroyForcibly();
                }
                nbdkit.destroy();
                nbdkit.waitFor(30, TimeUnit.SECONDS);
            }
        }
    }

    /** Waits until the volume has taken {@code writes} write requests (the load is running). */
    private static void awaitWrites(RaiddProcess raidd, long writes) throws Exception {
        Await.until(
                () -> {
                    try {
                        return raidd.status("policy")
                                        .path("io")
                                        .path("writeOps")
                                        .asLong()
                                >= writes;
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                },
                Duration.ofSeconds(30),
                writes + " writes through the volume");
    }

    /** Sends a command to nbdkit's pause filter and waits for its answer (P, R). */
    private static void pause(Path control, char command) throws Exception {
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(control));
            ch.write(ByteBuffer.wrap(new byte[] {(byte) command}));
            ByteBuffer answer = ByteBuffer.allocate(1);
            while (answer.hasRemaining() && ch.read(answer) >= 0) {
                // the filter answers once the command has taken effect
            }
            assertEquals(Character.toUpperCase(command), (char) answer.get(0));
        }
    }

    @Test
    void aFullFileSystemFailsTheWriteWithEnospcNotTheMembers() throws Exception {
        try (Scratch scratch = new Scratch("raidd-enospc-")) {
            Path mnt = scratch.resolve("small");
            Files.createDirectories(mnt);
            Tools.run(
                            TOOL,
                            Tools.require("mount", "util-linux"),
                            "-t",
                            "tmpfs",
                            "-o",
                            "size=96m",
                            "tmpfs",
                            mnt.toString())
                    .assertSuccess();
            try {
                List<Path> members = new ArrayList<>();
                for (int i = 0; i < 3; i++) {
                    members.add(mnt.resolve("m" + i + ".img"));
                }
                Scratch.create(5, "64K", "48M", "policy", members);
                Path filler = mnt.resolve("filler");
                ExternalClientsIT.writeRandomFile(filler, 40L << 20, SEED);
                Path first = scratch.resolve("first.raw");
                long part = 24L << 20;
                ExternalClientsIT.writeRandomFile(first, part, SEED + 1);
                String nbdcopy = Tools.require("nbdcopy", "libnbd-bin");
                try (RaiddProcess raidd = RaiddProcess.start(members)) {
                    raidd.process.awaitStderr("could grow by", Duration.ofSeconds(10));
                    Tools.run(TOOL, nbdcopy, first.toString(), raidd.uri).assertSuccess();
                    String target = raidd.uri;
                    Tools.Result full = Tools.run(
                            TOOL,
                            Tools.require("qemu-io", "qemu-utils"),
                            "-f",
                            "raw",
                            "-c",
                            "write -P 0x5a " + part + " " + part,
                            target);
                    String said = full.stdout() + full.stderr();
                    System.out.println("qemu-io on a full file system: " + said.strip());
                    assertTrue(said.contains("No space left on device"), said);
                    JsonNode volume = raidd.status("policy");
                    for (JsonNode m : volume.path("members")) {
                        assertEquals("active", m.path("state").asText(), "ENOSPC fails no member: " + volume);
                    }
                    Files.delete(filler);
                    Tools.run(
                                    TOOL,
                                    Tools.require("qemu-io", "qemu-utils"),
                                    "-f",
                                    "raw",
                                    "-c",
                                    "write -P 0x5a " + part + " " + part,
                                    target)
                            .assertSuccess();
                    assertEquals(0, raidd.terminate());
                }
                try (RaiddProcess raidd = RaiddProcess.start(members)) {
                    JsonNode volume = raidd.status("policy");
                    assertNotEquals("failed", volume.path("state").asText(), volume.toString());
                    assertEquals(
                            ExternalClientsIT.sha256(first, part),
                            ExternalClientsIT.sha256OfOutput(List.of(nbdcopy, raidd.uri, "-"), part),
                            "what was written before the disk filled");
                    Tools.Result back = Tools.run(
                            TOOL,
                            Tools.require("qemu-io", "qemu-utils"),
                            "-f",
                            "raw",
                            "-c",
                            "read -P 0x5a " + part + " " + part,
                            raidd.uri);
                    back.assertSuccess();
                    assertFalse(back.stdout().contains("Pattern verification failed"), back.stdout());
                    assertEquals(0, raidd.terminate());
                }
            } finally {
                Tools.run(TOOL, Tools.require("umount", "util-linux"), mnt.toString());
            }
        }
    }

    @Test
    void anArrayWhoseMembersWereAllMarkedFaultyComesBackWithForce() throws Exception {
        try (Scratch scratch = new Scratch("raidd-force-")) {
            List<Path> members = scratch.members("m", 3);
            Scratch.create(5, "64K", "32M", "policy", members);
            Path data = scratch.resolve("data.raw");
            long dataBytes = 32L << 20;
            ExternalClientsIT.writeRandomFile(data, dataBytes, SEED + 3);
            String nbdcopy = Tools.require("nbdcopy", "libnbd-bin");
            try (RaiddProcess raidd = RaiddProcess.start(members, "--allow-fault-injection")) {
                Tools.run(TOOL, nbdcopy, data.toString(), raidd.uri).assertSuccess();
                raidd.ok("inject", "policy", "1", "--fail");
                raidd.ok("inject", "policy", "2", "--fail");
                // Writes fail them both (md fails a member on a write error): the array fails.
                Tools.run(TOOL, nbdcopy, data.toString(), raidd.uri);
                Await.until(
                        () -> statusQuietly(raidd).path("state").asText().equals("failed"),
                        Duration.ofSeconds(30),
                        "the array failed");
                raidd.terminate();
            }
            JarProcess refused = JarProcess.run(
                    JarProcess.RAIDD,
                    TOOL,
                    List.of(
                            "--listen",
                            "127.0.0.1:0",
                            "--control",
                            scratch.resolve("raidd.sock").toString(),
                            members.get(0).toString(),
                            members.get(1).toString(),
                            members.get(2).toString()));
            assertNotEquals(0, refused.exitCode(), refused.describe());
            String why = String.join("\n", refused.messages());
            assertTrue(why.contains("--force"), why);
            try (RaiddProcess raidd = RaiddProcess.start(members, "--force")) {
                String forced = raidd.process
                        .awaitStderr("forced back into the array", Duration.ofSeconds(10))
                        .group();
                System.out.println("raidd --force: " + forced);
                assertEquals(
                        ExternalClientsIT.sha256(data, dataBytes),
                        ExternalClientsIT.sha256OfOutput(List.of(nbdcopy, raidd.uri, "-"), dataBytes));
                // Two of three members are back: degraded but serving, and resynced (what was forced back).
                JarProcess wait = raidd.raidctl("wait", "policy");
                assertEquals(1, wait.exitCode(), "degraded, so not healthy: " + wait.describe());
                assertEquals("degraded", raidd.status("policy").path("state").asText());
                assertEquals(0, raidd.terminate());
            }
            try (RaiddProcess raidd = RaiddProcess.start(members)) {
                assertEquals(0, raidd.terminate(), "the next start needs no --force");
            }
        }
    }

    private static JsonNode statusQuietly(RaiddProcess raidd) {
        try {
            return raidd.status("policy");
        } catch (Exception e) {
            throw new RuntimeException(e);
        }
    }

    @Test
    void theSameMemberTwiceIsRefusedNamingBothAndAForeignMemberIsSkipped() throws Exception {
        try (Scratch scratch = new Scratch("raidd-dup-")) {
            List<Path> members = scratch.members("m", 3);
            Scratch.create(5, "64K", "32M", "policy", members);
            List<Path> other = scratch.members("x", 3);
            Scratch.create(5, "64K", "32M", "other", other);
            Path hardLink = scratch.resolve("hard.img");
            Files.createLink(hardLink, members.get(1));
            Path symlink = scratch.resolve("sym.img");
            Files.createSymbolicLink(symlink, members.get(1));
            Path copy = scratch.resolve("copy.img");
            Files.copy(members.get(1), copy);
            for (Path twice : List.of(hardLink, symlink, copy)) {
                List<String> args = new ArrayList<>(List.of(
                        "--listen",
                        "127.0.0.1:0",
                        "--control",
                        scratch.resolve("raidd.sock").toString()));
                members.forEach(p -> args.add(p.toString()));
                args.add(twice.toString());
                JarProcess r = JarProcess.run(JarProcess.RAIDD, TOOL, args);
                assertNotEquals(0, r.exitCode(), r.describe());
                List<String> said = r.messages();
                assertEquals(1, said.size(), "one line: " + said);
                assertTrue(
                        said.get(0).contains(members.get(1).toString())
                                && said.get(0).contains(twice.toString()),
                        said.get(0));
            }
            // A member of another array given by mistake: skipped with a warning naming its file.
            List<Path> withForeign = new ArrayList<>(members);
            withForeign.add(other.get(0));
            try (RaiddProcess raidd = RaiddProcess.start(withForeign)) {
                assertEquals("clean", raidd.status("policy").path("state").asText());
                raidd.process.awaitStderr(
                        "not starting .*"
                                + java.util.regex.Pattern.quote(other.get(0).toString()),
                        Duration.ofSeconds(10));
                assertEquals(0, raidd.terminate());
            }
        }
    }
}
