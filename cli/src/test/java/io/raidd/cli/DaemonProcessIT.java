package io.raidd.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raidd.raid.md.Superblock;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import org.junit.jupiter.api.Test;

/**
 * The shaded jar as a real process: the demo, SIGTERM and SIGKILL, restart after a crash, and the
 * error paths of raidd and raidctl (one line on stderr, non-zero exit, no stack trace).
 */
class DaemonProcessIT {
    private static final Duration START = Duration.ofSeconds(60);
    private static final Duration STOP = Duration.ofSeconds(60);
    private static final Duration TOOL = Duration.ofMinutes(2);
    private static final long SEED = Long.getLong("raidd.test.seed", System.nanoTime());
    private static final String URI_LINE = "^(nbd://127\\.0\\.0\\.1:(\\d+)/(\\S+))$";

    private static List<String> raiddArgs(List<Path> members, String... extra) {
        List<String> args = new ArrayList<>(List.of("--listen", "127.0.0.1:0"));
        if (!members.isEmpty()) {
            args.addAll(List.of(
                    "--control", members.get(0).resolveSibling("raidd.sock").toString()));
        }
        args.addAll(List.of(extra));
        members.forEach(p -> args.add(p.toString()));
        return args;
    }

    /** Starts raidd and returns its URI (the first stdout line), failing with its output if it does not come. */
    private static String awaitUri(JarProcess raidd) throws InterruptedException {
        Matcher m = raidd.awaitStdout(URI_LINE, START);
        assertNotEquals("0", m.group(2), "the URI shows the bound port");
        return m.group(1);
    }

    private static void assertAllClean(List<Path> members) {
        for (Path p : members) {
            Superblock sb = Scratch.superblock(p);
            assertTrue(sb.clean(), p + " clean: " + sb);
        }
    }

    private static void assertStopsCleanly(JarProcess raidd) throws InterruptedException {
        assertEquals(0, raidd.terminate(STOP), "exit code after SIGTERM\n" + raidd.describe());
        raidd.awaitStderr("stopped clean", Duration.ofSeconds(1));
        assertEquals(List.of("raidd: stopping"), raidd.messages(), raidd.describe());
    }

    private static void assertOneLineError(JarProcess p, String prefix, String... fragments) {
        assertNotEquals(0, p.exitCode(), p.describe());
        List<String> messages = p.messages();
        assertEquals(1, messages.size(), "exactly one line for the user\n" + p.describe());
        String line = messages.get(0);
        assertTrue(line.startsWith(prefix + ": "), line);
        for (String f : fragments) {
            assertTrue(line.contains(f), "'" + f + "' in: " + line);
        }
        String all = String.join("\n", p.stderr());
        assertFalse(all.contains("Exception") || all.contains("\tat "), "no stack trace\n" + all);
    }

    private static String nbdinfo(String uri) throws Exception {
        return Tools.run(TOOL, Tools.require("nbdinfo", "libnbd-bin"), uri)
                .assertSuccess()
                .stdout();
    }

    private static void copyIn(Path file, String uri) throws Exception {
        Tools.run(TOOL, Tools.require("nbdcopy", "libnbd-bin"), file.toString(), uri)
                .assertSuccess();
    }

    private static String sha256Out(String uri, long lengthBytes) throws Exception {
        return ExternalClientsIT.sha256OfOutput(List.of(Tools.require("nbdcopy", "libnbd-bin"), uri, "-"), lengthBytes);
    }

    @Test
    void demoServesAndStopsCleanOnSigterm() throws Exception {
        try (Scratch scratch = new Scratch("raidd-demo-");
                JarProcess raidd = JarProcess.start(
                        JarProcess.RAIDD,
                        List.of(
                                "--demo",
                                scratch.resolve("demo").toString(),
                                "--listen",
                                "127.0.0.1:0",
                                "--control",
                                scratch.resolve("raidd.sock").toString()))) {
            String uri = awaitUri(raidd);
            assertTrue(uri.endsWith("/demo"), uri);
            String info = nbdinfo(uri);
            assertTrue(info.contains("description: raidd RAID-6 left-symmetric, 6 members, chunk 512 KiB"), info);
            // The demo says how to reach it with raidctl, and that command works.
            Matcher control = raidd.awaitStdout("^raidctl --control (\\S+) status$", START);
            JarProcess status = JarProcess.run(
                    JarProcess.RAIDCTL, TOOL, List.of("--control", control.group(1), "status", "--json"));
            assertEquals(0, status.exitCode(), status.describe());
            com.fasterxml.jackson.databind.JsonNode json =
                    new com.fasterxml.jackson.databind.ObjectMapper().readTree(String.join("\n", status.stdout()));
            com.fasterxml.jackson.databind.JsonNode demo = json.path("volumes").get(0);
            assertEquals("demo", demo.path("name").asText(), json.toString());
            assertEquals("clean", demo.path("state").asText(), json.toString());
            assertEquals(6, demo.path("members").size(), json.toString());
            for (com.fasterxml.jackson.databind.JsonNode m : demo.path("members")) {
                assertEquals("active", m.path("state").asText(), json.toString());
            }
            assertStopsCleanly(raidd);
            List<Path> members = scratch.members("demo/d", 6);
            for (Path p : members) {
                assertTrue(Files.size(p) == 1L << 30, p + " is a 1 GiB image");
            }
            assertAllClean(members);
        }
    }

    @Test
    void restartAfterKill9ResyncsAndKeepsTheData() throws Exception {
        System.out.println("DaemonProcessIT seed " + SEED + " (-Draidd.test.seed=" + SEED + " repeats it)");
        try (Scratch scratch = new Scratch("raidd-crash-")) {
            List<Path> members = scratch.members("m", 4);
            Scratch.create(5, "64K", "96M", "crash", members);
            Path data = scratch.resolve("data.raw");
            long dataBytes = 64L << 20;
            ExternalClientsIT.writeRandomFile(data, dataBytes, SEED);
            String expected = ExternalClientsIT.sha256(data, dataBytes);
            try (JarProcess raidd = JarProcess.start(JarProcess.RAIDD, raiddArgs(members))) {
                copyIn(data, awaitUri(raidd));
                raidd.kill();
            }
            for (Path p : members) {
                assertFalse(Scratch.superblock(p).clean(), "precondition: " + p + " left dirty by kill -9");
            }
            try (JarProcess raidd = JarProcess.start(JarProcess.RAIDD, raiddArgs(members))) {
                String uri = awaitUri(raidd);
                raidd.awaitStderr("was not shut down cleanly: resyncing", Duration.ofSeconds(5));
                assertEquals(expected, sha256Out(uri, dataBytes), "data read while (or after) resyncing");
                raidd.awaitStderr("array crash: resync complete", START);
                assertEquals(expected, sha256Out(uri, dataBytes), "data after the resync");
                assertStopsCleanly(raidd);
            }
            assertAllClean(members);
        }
    }

    @Test
    void missingMemberPathIsOneLine() throws Exception {
        try (Scratch scratch = new Scratch("raidd-errors-")) {
            List<Path> members = scratch.members("m", 3);
            Scratch.create(5, "64K", "32M", "err", members);
            Path nope = scratch.resolve("nope.img");
            JarProcess p =
                    JarProcess.run(JarProcess.RAIDD, START, raiddArgs(List.of(members.get(0), members.get(1), nope)));
            assertOneLineError(p, "raidd", "cannot open member " + nope + ": no such");
            String line = p.messages().get(0);
            assertEquals(line.indexOf(nope.toString()), line.lastIndexOf(nope.toString()), "the path once: " + line);
        }
    }

    @Test
    void corruptSuperblockLeavesTheMemberOut() throws Exception {
        try (Scratch scratch = new Scratch("raidd-errors-")) {
            List<Path> members = scratch.members("m", 3);
            Scratch.create(5, "64K", "32M", "err", members);
            try (RandomAccessFile f = new RandomAccessFile(members.get(2).toFile(), "rw")) {
                f.seek(4096 + 40);
                int b = f.read();
                f.seek(4096 + 40);
                f.write(b ^ 0x01);
            }
            // Alone it is refused: nothing to serve.
            JarProcess alone = JarProcess.run(JarProcess.RAIDD, START, raiddArgs(List.of(members.get(2))));
            assertOneLineError(alone, "raidd", members.get(2).toString(), "checksum");
            // With the other members the array is served degraded, and the log says which member and why.
            try (JarProcess raidd = JarProcess.start(JarProcess.RAIDD, raiddArgs(members))) {
                String uri = awaitUri(raidd);
                raidd.awaitStderr("not using " + members.get(2) + ": superblock checksum mismatch", START);
                assertTrue(nbdinfo(uri).contains(", degraded"), "description says degraded");
                assertStopsCleanly(raidd);
            }
        }
    }

    @Test
    void dirtyDegradedArrayNeedsForce() throws Exception {
        try (Scratch scratch = new Scratch("raidd-errors-")) {
            List<Path> members = scratch.members("m", 4);
            Scratch.create(5, "64K", "64M", "dd", members);
            Path data = scratch.resolve("data.raw");
            long dataBytes = 16L << 20;
            ExternalClientsIT.writeRandomFile(data, dataBytes, SEED + 7);
            try (JarProcess raidd = JarProcess.start(JarProcess.RAIDD, raiddArgs(members))) {
                copyIn(data, awaitUri(raidd));
                raidd.kill();
            }
            List<Path> survivors = members.subList(0, 3);
            JarProcess refused = JarProcess.run(JarProcess.RAIDD, START, raiddArgs(survivors));
            assertOneLineError(refused, "raidd", "--force");
            try (JarProcess raidd = JarProcess.start(JarProcess.RAIDD, raiddArgs(survivors, "--force"))) {
                String uri = awaitUri(raidd);
                assertEquals(
                        ExternalClientsIT.sha256(data, dataBytes),
                        sha256Out(uri, dataBytes),
                        "data written before the crash, read degraded");
                assertEquals(0, raidd.terminate(STOP), raidd.describe());
            }
        }
    }

    @Test
    void raidctlCreateErrorsAreOneLine() throws Exception {
        try (Scratch scratch = new Scratch("raidd-create-")) {
            JarProcess tooFew = raidctl(
                    "create",
                    "--level",
                    "6",
                    "--size",
                    "32M",
                    path(scratch, "a0"),
                    path(scratch, "a1"),
                    path(scratch, "a2"));
            assertOneLineError(tooFew, "raidctl", "at least 4");
            assertNoImages(scratch, "a");

            JarProcess duplicate = raidctl(
                    "create",
                    "--level",
                    "5",
                    "--size",
                    "32M",
                    path(scratch, "b0"),
                    path(scratch, "b1"),
                    path(scratch, "b0"));
            assertOneLineError(duplicate, "raidctl", "given twice");
            assertNoImages(scratch, "b");

            for (int i = 0; i < 3; i++) {
                try (RandomAccessFile f = new RandomAccessFile(path(scratch, "c" + i), "rw")) {
                    f.setLength(i == 2 ? 48L << 20 : 32L << 20);
                }
            }
            JarProcess unequal =
                    raidctl("create", "--level", "5", path(scratch, "c0"), path(scratch, "c1"), path(scratch, "c2"));
            assertOneLineError(unequal, "raidctl", "differ in size", "--force");
            assertEquals(
                    0,
                    raidctl(
                                    "create",
                                    "--level",
                                    "5",
                                    "--force",
                                    path(scratch, "c0"),
                                    path(scratch, "c1"),
                                    path(scratch, "c2"))
                            .exitCode());

            JarProcess otherArray =
                    raidctl("create", "--level", "1", "--size", "32M", path(scratch, "c1"), path(scratch, "d1"));
            assertOneLineError(otherArray, "raidctl", path(scratch, "c1"), "belongs to array", "--force");
            assertFalse(Files.exists(Path.of(path(scratch, "d1"))), "nothing created on refusal");
            assertEquals("c0", Scratch.superblock(Path.of(path(scratch, "c1"))).setName(), "c1 untouched");

            for (String unwritable : List.of(
                    "/proc/raidd-it.img", scratch.resolve("no-dir/e1.img").toString())) {
                JarProcess p = raidctl(
                        "create",
                        "--level",
                        "5",
                        "--size",
                        "32M",
                        path(scratch, "e0"),
                        unwritable,
                        path(scratch, "e2"));
                assertOneLineError(p, "raidctl", "cannot create member " + unwritable + ": ");
                assertNoImages(scratch, "e");
            }
        }
    }

    private static JarProcess raidctl(String... args) throws Exception {
        return JarProcess.run(JarProcess.RAIDCTL, TOOL, List.of(args));
    }

    private static String path(Scratch scratch, String name) {
        return scratch.resolve(name + ".img").toString();
    }

    private static void assertNoImages(Scratch scratch, String prefix) throws Exception {
        try (var files = Files.list(scratch.dir())) {
            List<String> left = files.map(p -> p.getFileName().toString())
                    .filter(n -> n.startsWith(prefix))
                    .toList();
            assertEquals(List.of(), left, "a failed create leaves no image behind");
        }
    }
}
