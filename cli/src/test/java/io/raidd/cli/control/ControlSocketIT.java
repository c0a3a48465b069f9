package io.raidd.cli.control;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import io.raidd.cli.Await;
import io.raidd.cli.RaidctlMain;
import io.raidd.cli.control.VolumeStatus.MemberStatus;
import io.raidd.cli.control.VolumeStatus.SyncStatus;
import io.raidd.raid.event.ArrayEvent;
import io.raidd.raid.event.EventType;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real {@link ControlServer} on a socket in a temporary directory, in front of the fake
 * service: raidctl end to end, the socket file's life, and hostile clients.
 */
class ControlSocketIT {
    private static final Duration DEADLINE = Duration.ofSeconds(30);
    private static final Duration IDLE = Duration.ofMillis(500);
    private static final int MAX_CONNECTIONS = 8;
    private static final ControlServer.Options FAST = ControlServer.Options.DEFAULTS
            .withIdleTimeout(IDLE)
            .withWriteTimeout(Duration.ofSeconds(2))
            .withMaxConnections(MAX_CONNECTIONS)
            .withEventQueueLines(64);

    @TempDir
    Path dir;

    private FakeControlService fake;
    private ControlServer server;
    private Path socket;

    @BeforeEach
    void start() throws IOException {
        fake = new FakeControlService();
        socket = dir.resolve("run").resolve("raidd.sock");
        server = ControlServer.start(socket, fake, FAST);
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
    }

    // ---- raidctl end to end -------------------------------------------------------------

    record Run(int status, String out, String err) {}

    private Run raidctl(String... args) {
        List<String> all = new ArrayList<>(List.of("--control", socket.toString()));
        all.addAll(List.of(args));
        return raidctlRaw(all.toArray(String[]::new));
    }

    private static Run raidctlRaw(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int status = RaidctlMain.run(new PrintWriter(out), new PrintWriter(err), args);
        return new Run(status, out.toString(), err.toString());
    }

    private static void assertRun(int status, String out, String err, Run r) {
        assertEquals(status, r.status(), r.toString());
        if (out != null) {
            assertEquals(out, r.out(), r.toString());
        }
        if (err != null) {
            assertEquals(err, r.err(), r.toString());
        }
    }

    @Test
    void statusForPeopleAndForMachines() throws IOException {
        Run human = raidctl("status");
        assertRun(0, null, "", human);
        assertTrue(human.out().startsWith("vol0\n"), human.out());
        assertTrue(human.out().contains("         Level : raid6\n"), human.out());
        assertTrue(human.out().contains("          Sync : idle\n"), human.out());
        assertTrue(human.out().contains("  Rebuild Rate : min 10.0 MiB/s, max unlimited\n"), human.out());
        assertTrue(
                human.out()
                        .contains(
                                "     1  active              0          0         0          0         0  /d/d1.img\n"),
                human.out());
        assertTrue(human.out().contains("\nvol1\n"), human.out());

        // --control after the subcommand works as well as before it.
        Run json = raidctlRaw("status", "vol1", "--json", "--control", socket.toString());
        assertRun(0, null, "", json);
        JsonNode root = ControlProtocol.mapper().readTree(json.out());
        assertEquals(List.of("volumes"), names(root));
        assertEquals(1, root.get("volumes").size());
        JsonNode v = root.get("volumes").get(0);
        assertEquals("vol1", v.get("name").asText());
        assertEquals("clean", v.get("state").asText());
        assertEquals("/d/m0.img", v.get("members").get(0).get("path").asText());
        assertEquals(0, v.get("members").get(0).get("slot").asInt());
        assertEquals("active", v.get("members").get(0).get("state").asText());
        assertEquals("idle", v.get("sync").get("action").asText());
        for (String f : List.of("doneBytes", "totalBytes", "bytesPerSecond", "etaSeconds", "pending")) {
            assertTrue(v.get("sync").has(f), f);
        }

        assertRun(1, "", "raidctl: no volume 'nope' (volumes: vol0, vol1)\n", raidctl("status", "nope"));
    }

    @Test
    void changingCommandsEndToEnd() {
        assertRun(0, "vol0: /d/d1.img marked faulty\n", "", raidctl("fail", "vol0", "1"));
        assertRun(1, "", "raidctl: vol0: /d/d1.img is faulty already\n", raidctl("fail", "vol0", "/d/d1.img"));
        assertRun(
                1,
                "",
                "raidctl: vol0: /d/d0.img is active and holds data; fail it first\n",
                raidctl("remove", "vol0", "0"));
        assertRun(0, "vol0: removed /d/d1.img\n", "", raidctl("remove", "vol0", "/d/d1.img"));
        // A relative path is sent as an absolute one: raidd's working directory is not ours.
        String absolute = Path.of("spare.img").toAbsolutePath().normalize().toString();
        assertRun(0, "vol0: added " + absolute + " as a spare\n", "", raidctl("add", "vol0", "spare.img"));
        assertRun(0, "vol0: replacing /d/d2.img with /d/n2.img\n", "", raidctl("replace", "vol0", "2", "/d/n2.img"));
        assertRun(
                0,
                "vol0: rebuild rate min 10485760 max 52428800 B/s\n",
                "",
                raidctl("rebuild", "vol0", "--speed-limit", "50M"));
        assertRun(
                0,
                "vol1: rebuild rate min 1048576 max 9223372036854775807 B/s\n",
                "",
                raidctl("rebuild", "vol1", "--speed-limit", "unlimited", "--min", "1M"));
        assertEquals(
                List.of(
                        "fail vol0 /d/d1.img",
                        "remove vol0 /d/d1.img",
                        "add vol0 " + absolute,
                        "replace vol0 /d/d2.img /d/n2.img",
                        "rebuild-limits vol0 null 52428800",
                        "rebuild-limits vol1 1048576 9223372036854775807"),
                fake.changes());
    }

    @Test
    void usageErrorsExitTwoAndSendNothing() {
        assertEquals(2, raidctl("rebuild", "vol0").status());
        assertEquals(2, raidctl("rebuild", "vol0", "--speed-limit", "fast").status());
        assertEquals(
                2,
                raidctl("rebuild", "vol0", "--speed-limit", "10M", "--min", "20M")
                        .status());
        assertEquals(2, raidctl("fail", "vol0").status());
        assertEquals(2, raidctl("inject", "vol0", "1").status());
        assertEquals(2, raidctl("inject", "vol0", "1", "--fail", "--hang").status());
        assertEquals(2, raidctl("inject", "vol0", "1", "--eio-read", "12").status());
        assertEquals(2, raidctl("wait", "vol0", "--interval", "5").status());
        assertEquals(2, raidctl("frobnicate").status());
        assertEquals(List.of(), fake.changes());
        Run r = raidctl("rebuild", "vol0");
        assertEquals("raidctl: give --speed-limit RATE, --min RATE or both\n", r.err());
    }

    @Test
    void injectNeedsTheDaemonsPermissionAndSendsTheFault() {
        assertRun(
                1,
                "",
                "raidctl: fault injection is off (start raidd with --allow-fault-injection)\n",
                raidctl("inject", "vol0", "1", "--fail"));
        fake.allowInjection(true);
        assertRun(
                0,
                "vol0: eio-read injected into /d/d1.img\n",
                "",
                raidctl("inject", "vol0", "1", "--eio-read", "1M+64K"));
        assertEquals(0, raidctl("inject", "vol0", "1", "--eio-write").status());
        assertEquals(
                0,
                raidctl("inject", "vol0", "/d/d2.img", "--eio-write", "4096:512")
                        .status());
        assertEquals(0, raidctl("inject", "vol0", "1", "--slow", "200").status());
        assertEquals(0, raidctl("inject", "vol0", "1", "--flip-bits", "3").status());
        assertEquals(0, raidctl("inject", "vol0", "1", "--hang").status());
        assertEquals(0, raidctl("inject", "vol0", "1", "--clear").status());
        assertEquals(
                List.of(
                        "inject vol0 /d/d1.img FaultSpec[kind=eio-read, offsetBytes=1048576, lengthBytes=65536, millis=0, count=0]",
                        "inject vol0 /d/d1.img FaultSpec[kind=eio-write, offsetBytes=0, lengthBytes=0, millis=0, count=0]",
                        "inject vol0 /d/d2.img FaultSpec[kind=eio-write, offsetBytes=4096, lengthBytes=512, millis=0, count=0]",
                        "inject vol0 /d/d1.img FaultSpec[kind=slow, offsetBytes=0, lengthBytes=0, millis=200, count=0]",
                        "inject vol0 /d/d1.img FaultSpec[kind=flip-bits, offsetBytes=0, lengthBytes=0, millis=0, count=3]",
                        "inject vol0 /d/d1.img FaultSpec[kind=hang, offsetBytes=0, lengthBytes=0, millis=0, count=0]",
                        "inject vol0 /d/d1.img FaultSpec[kind=clear, offsetBytes=0, lengthBytes=0, millis=0, count=0]"),
                fake.changes());
    }

    private static VolumeStatus at(String state, String action, long done, long total) {
        return FakeControlService.volume(
                "vol0",
                6,
                state,
                new SyncStatus(action, done, total, 100L << 20, action.equals("idle") ? -1 : 7, 0),
                FakeControlService.member(0, "/d/d0.img", "active"),
                FakeControlService.member(1, "/d/d1.img", "active"),
                new MemberStatus(2, "/d/n2.img", "rebuilding", null, done, 0, 0, 0, 0, null),
                FakeControlService.member(3, "/d/d3.img", "active"));
    }

    @Test
    void waitShowsProgressAndExitsByTheEndState() {
        long g = 1000L << 20;
        fake.awaitScript(List.of(
                at("rebuilding", "rebuild", g / 10, g),
                at("rebuilding", "rebuild", g / 2, g),
                at("rebuilding", "rebuild", g * 9 / 10, g),
                at("clean", "idle", 0, 0)));
        Run r = raidctl("wait", "vol0");
        assertRun(
                0,
                String.join(
                        "\n",
                        "vol0: rebuild 10.0% 100.00 MiB/1000.00 MiB at 100.0 MiB/s, ETA 0:00:07 (rebuilding)",
                        "vol0: rebuild 50.0% 500.00 MiB/1000.00 MiB at 100.0 MiB/s, ETA 0:00:07 (rebuilding)",
                        "vol0: rebuild 90.0% 900.00 MiB/1000.00 MiB at 100.0 MiB/s, ETA 0:00:07 (rebuilding)",
                        "vol0: clean, idle",
                        ""),
                "",
                r);

        fake.awaitScript(List.of(at("rebuilding", "rebuild", 0, g), at("degraded", "idle", 0, 0)));
        assertRun(1, null, "raidctl: vol0 is degraded, not healthy\n", raidctl("wait", "vol0"));

        // add --wait and replace --wait: the change, then the wait.
        fake.awaitScript(List.of(at("rebuilding", "rebuild", g / 2, g), at("clean", "idle", 0, 0)));
        Run add = raidctl("add", "vol0", "/d/n2.img", "--wait");
        assertRun(0, null, "", add);
        assertTrue(add.out().startsWith("vol0: added /d/n2.img as a spare\nvol0: rebuild 50.0% "), add.out());
        assertTrue(add.out().endsWith("vol0: clean, idle\n"), add.out());
        fake.awaitScript(List.of(at("degraded", "idle", 0, 0)));
        Run replace = raidctl("replace", "vol0", "3", "/d/n3.img", "--wait");
        assertRun(1, null, "raidctl: vol0 is degraded, not healthy\n", replace);
        assertTrue(replace.out().startsWith("vol0: replacing /d/d3.img with /d/n3.img\n"), replace.out());
        assertRun(1, "", "raidctl: no volume 'nope' (volumes: vol0, vol1)\n", raidctl("wait", "nope"));
    }

    @Test
    void theClientTakesMapsAndTreesAndReturnsEveryLine() throws Exception {
        try (ControlClient c = ControlClient.connect(socket)) {
            List<JsonNode> lines = c.request(java.util.Map.of("command", "status", "volume", "vol1"));
            assertEquals(1, lines.size());
            assertEquals("vol1", lines.get(0).get("volumes").get(0).get("name").asText());
            assertThrows(IllegalStateException.class, () -> c.request(java.util.Map.of("command", "status")));
        }
        fake.awaitScript(List.of(at("rebuilding", "rebuild", 1, 2), at("clean", "idle", 0, 0)));
        try (ControlClient c = ControlClient.connect(socket)) {
            List<JsonNode> lines = c.request(
                    ControlProtocol.mapper().readTree("{\"version\":1,\"command\":\"wait\",\"volume\":\"vol0\"}"));
            assertEquals(2, lines.size(), lines.toString());
            assertEquals(
                    "rebuild",
                    lines.get(0).get("progress").get("sync").get("action").asText());
            assertTrue(lines.get(1).get("healthy").asBoolean());
        }
        try (ControlClient c = ControlClient.connect(socket)) {
            ControlException e =
                    assertThrows(ControlException.class, () -> c.call(new ControlRequest.Fail("vol9", "1")));
            assertEquals("no volume 'vol9' (volumes: vol0, vol1)", e.getMessage());
        }
    }

    @Test
    void withoutADaemonRaidctlSaysSo() {
        Path none = dir.resolve("none.sock");
        assertRun(
                1,
                "",
                "raidctl: is raidd running? no control socket at " + none + "\n",
                raidctlRaw("--control", none.toString(), "status"));
    }

    @Test
    void monitorPrintsEventsAndRunsTheProgram() throws Exception {
        Path log = dir.resolve("program.log");
        Path prog = dir.resolve("on-event");
        Files.writeString(prog, "#!/bin/sh\necho \"$# $1 $2 $3 $RAIDD_DETAIL\" >> " + log + "\n");
        Files.setPosixFilePermissions(prog, PosixFilePermissions.fromString("rwx------"));
        CompletableFuture<Run> monitor =
                CompletableFuture.supplyAsync(() -> raidctl("monitor", "--count", "2", "--program", prog.toString()));
        Await.until(() -> fake.events().subscribers() == 1, DEADLINE, "raidctl monitor to subscribe");
        fake.events()
                .emit(new ArrayEvent(EventType.Fail, "vol0", "/d/d1.img", "write error at 8192", 1_700_000_000_000L));
        fake.events().emit(new ArrayEvent(EventType.NewArray, "vol1", "", "", 1_700_000_001_000L));
        Run r = monitor.get(DEADLINE.toSeconds(), TimeUnit.SECONDS);
        assertRun(
                0,
                "2023-11-14T22:13:20Z Fail vol0 /d/d1.img: write error at 8192\n"
                        + "2023-11-14T22:13:21Z NewArray vol1 -\n",
                "",
                r);
        assertEquals(
                List.of("3 Fail vol0 /d/d1.img write error at 8192", "2 NewArray vol1  "), Files.readAllLines(log));
        Await.until(() -> fake.events().subscribers() == 0, DEADLINE, "the monitor to unsubscribe");
    }

    // ---- the socket file ----------------------------------------------------------------

    @Test
    void theSocketIsOwnerOnlyAndGoesAwayWithTheServer() throws IOException {
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(socket)));
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(socket.getParent())));
        server.close();
        assertFalse(Files.exists(socket));
        server = null;
    }

    @Test
    void aLiveSocketIsRefusedAStaleOneReplacedAFileLeftAlone() throws Exception {
        IOException live = assertThrows(IOException.class, () -> ControlServer.start(socket, fake, FAST));
        assertEquals("another raidd is listening on " + socket, live.getMessage());
        assertServedWell();

        // A dead daemon's socket: bound, then closed without removing the file.
        Path stale = dir.resolve("stale.sock");
        try (ServerSocketChannel dead = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            dead.bind(UnixDomainSocketAddress.of(stale));
        }
        assertTrue(Files.exists(stale));
        try (ControlServer second = ControlServer.start(stale, fake, FAST)) {
            assertEquals(stale, second.path());
            try (ControlClient c = ControlClient.connect(stale)) {
                assertTrue(c.call(new ControlRequest.Status("vol0")).get("ok").asBoolean());
            }
        }
        assertFalse(Files.exists(stale));

        Path file = dir.resolve("file.sock");
        Files.writeString(file, "not a socket");
        IOException notSocket = assertThrows(IOException.class, () -> ControlServer.start(file, fake, FAST));
        assertEquals(
                file + " exists and is not a socket; remove it or choose another control path", notSocket.getMessage());
        assertEquals("not a socket", Files.readString(file));

        Path tooLong = dir.resolve("d".repeat(120)).resolve("raidd.sock");
        IOException longPath = assertThrows(IOException.class, () -> ControlServer.start(tooLong, fake, FAST));
        assertTrue(
                longPath.getMessage().startsWith("cannot create the control socket " + tooLong + ": "),
                longPath.getMessage());
    }

    @Test
    void closingTellsStreamingClientsAndEndsWaits() throws IOException {
        fake.awaitGate(new CountDownLatch(1));
        try (Raw monitor = new Raw(socket);
                Raw wait = new Raw(socket)) {
            monitor.send("{\"version\":1,\"command\":\"monitor\"}\n");
            assertEquals("{\"subscribed\":true}", monitor.readLine());
            wait.send("{\"version\":1,\"command\":\"wait\",\"volume\":\"vol0\"}\n");
            Await.until(() -> fake.awaitsStarted() == 1, DEADLINE, "the wait to block");
            server.close();
            assertEquals(List.of("{\"ok\":false,\"error\":\"raidd is shutting down\"}"), monitor.readToEnd());
            assertEquals(List.of("{\"ok\":false,\"error\":\"raidd is shutting down\"}"), wait.readToEnd());
            Await.until(() -> fake.awaitsInterrupted() == 1, DEADLINE, "the blocked wait to be interrupted");
        }
        assertFalse(Files.exists(socket));
        server = null;
    }

    // ---- hostile clients ----------------------------------------------------------------

    /** What one hostile client sends, and what the error it gets back must contain. */
    record Hostile(String name, byte[] bytes, String error) {
        Hostile(String name, String text, String error) {
            this(name, text.getBytes(StandardCharsets.UTF_8), error);
        }
    }

    private static List<Hostile> hostileInputs() {
        long seed = System.nanoTime();
        System.out.println("ControlSocketIT hostile input seed " + seed);
        byte[] garbage = new byte[4096];
        new Random(seed).nextBytes(garbage);
        garbage[garbage.length - 1] = '\n';
        byte[] badUtf8 = "{\"version\":1,\"command\":\"fail\",\"volume\":\"v??\",\"member\":\"1\"}\n"
                .getBytes(StandardCharsets.UTF_8);
        badUtf8[41] = (byte) 0xc3;
        badUtf8[42] = (byte) 0x28;
        String fail = "{\"version\":1,\"command\":\"fail\",\"volume\":\"vol0\"";
        return List.of(
                new Hostile(
                        "a line over 64 KiB",
                        fail + ",\"member\":\"" + "a".repeat(70_000) + "\"}\n",
                        "request line longer than 65536 bytes; closing"),
                new Hostile("a line that never ends", "x".repeat(300_000), "request line longer than 65536 bytes"),
                new Hostile("invalid UTF-8", badUtf8, "invalid JSON: "),
                new Hostile("not JSON", "fail vol0 1\n", "invalid JSON: "),
                new Hostile("a JSON array", "[\"fail\",\"vol0\",\"1\"]\n", "a request is a JSON object, not an array"),
                new Hostile("a JSON string", "\"fail vol0 1\"\n", "a request is a JSON object, not a string"),
                new Hostile("an empty line", "\r\n", "empty request"),
                new Hostile("a missing field", fail + "}\n", "command 'fail' needs field 'member' (a string)"),
                new Hostile(
                        "an extra field",
                        fail + ",\"member\":\"1\",\"force\":true}\n",
                        "unknown field 'force' for command 'fail' (fields: volume, member)"),
                new Hostile(
                        "a wrong-typed field",
                        fail + ",\"member\":1}\n",
                        "field 'member' must be a string, not a number"),
                new Hostile(
                        "an unknown command", "{\"version\":1,\"command\":\"format\"}\n", "unknown command 'format'"),
                new Hostile(
                        "an unknown volume",
                        "{\"version\":1,\"command\":\"fail\",\"volume\":\"nope\",\"member\":\"1\"}\n",
                        "no volume 'nope' (volumes: vol0, vol1)"),
                new Hostile(
                        "another protocol version",
                        "{\"version\":2,\"command\":\"fail\",\"volume\":\"vol0\",\"member\":\"1\"}\n",
                        "unsupported protocol version 2; this raidd speaks version 1"),
                new Hostile(
                        "no version",
                        "{\"command\":\"fail\",\"volume\":\"vol0\",\"member\":\"1\"}\n",
                        "missing field 'version'"),
                new Hostile(
                        "duplicate keys",
                        "{\"version\":1,\"command\":\"status\",\"command\":\"fail\",\"volume\":\"vol0\",\"member\":\"1\"}\n",
                        "invalid JSON: Duplicate field 'command'"),
                new Hostile(
                        "deep nesting",
                        "{\"version\":1,\"command\":\"status\",\"volume\":" + "[".repeat(5000) + "]".repeat(5000)
                                + "}\n",
                        "invalid JSON: "),
                new Hostile(
                        "a huge number",
                        "{\"version\":" + "9".repeat(5000) + ",\"command\":\"status\"}\n",
                        "invalid JSON: "),
                new Hostile("random bytes", garbage, ""),
                new Hostile(
                        "a refused change",
                        "{\"version\":1,\"command\":\"remove\",\"volume\":\"vol0\",\"member\":\"0\"}\n",
                        "vol0: /d/d0.img is active and holds data; fail it first"),
                new Hostile(
                        "fault injection while it is off",
                        "{\"version\":1,\"command\":\"inject\",\"volume\":\"vol0\",\"member\":\"0\",\"fault\":{\"kind\":\"fail\"}}\n",
                        "fault injection is off"));
    }

    @Test
    void eachHostileInputGetsOneClearErrorChangesNothingAndHarmsNoOne() throws IOException {
        for (Hostile h : hostileInputs()) {
            List<String> reply;
            try (Raw raw = new Raw(socket)) {
                raw.send(h.bytes());
                reply = raw.readToEnd();
            }
            assertEquals(1, reply.size(), h.name() + ": " + reply);
            JsonNode line = ControlProtocol.mapper().readTree(reply.get(0));
            assertFalse(line.get("ok").asBoolean(), h.name() + ": " + line);
            String error = line.get("error").asText();
            assertTrue(error.contains(h.error()), h.name() + ": " + error);
            assertFalse(error.contains("\n"), h.name());
            assertTrue(error.length() < 400, h.name() + ": " + error.length() + " characters");
            assertEquals(List.of(), fake.changes(), h.name());
            assertServedWell();
        }
        Await.until(() -> server.activeConnections() == 0, DEADLINE, "every connection to end");
    }

    @Test
    void aSecondRequestOnTheSameConnectionIsNotServed() throws IOException {
        try (Raw raw = new Raw(socket)) {
            raw.send("{\"version\":1,\"command\":\"status\",\"volume\":\"vol1\"}\n"
                    + "{\"version\":1,\"command\":\"fail\",\"volume\":\"vol0\",\"member\":\"1\"}\n");
            List<String> reply = raw.readToEnd();
            assertEquals(1, reply.size(), reply.toString());
            assertTrue(reply.get(0).startsWith("{\"ok\":true,\"volumes\":[{\"name\":\"vol1\""), reply.get(0));
        }
        assertEquals(List.of(), fake.changes());
    }

    @Test
    void aRequestInSmallPiecesIsFineASilentClientIsClosedAfterTheIdleTimeout() throws IOException {
        try (Raw raw = new Raw(socket)) {
            for (String piece : List.of("{\"version\":1,", "\"command\":\"status\",", "\"volume\":\"vol0\"}", "\n")) {
                raw.send(piece);
            }
            List<String> reply = raw.readToEnd();
            assertTrue(reply.get(0).startsWith("{\"ok\":true,\"volumes\":[{\"name\":\"vol0\""), reply.toString());
        }
        long start = System.nanoTime();
        try (Raw silent = new Raw(socket)) {
            assertEquals(
                    List.of("{\"ok\":false,\"error\":\"no complete request line within 500 ms; closing\"}"),
                    silent.readToEnd());
        }
        assertTrue(System.nanoTime() - start >= IDLE.toNanos() * 9 / 10, "closed only after the idle timeout");
        try (Raw partial = new Raw(socket)) {
            partial.send("{\"version\":1,\"command\":\"fail\",\"volume\":\"vol0\",\"member\"");
            assertEquals(
                    List.of("{\"ok\":false,\"error\":\"no complete request line within 500 ms; closing\"}"),
                    partial.readToEnd());
        }
        assertEquals(List.of(), fake.changes());
        assertServedWell();
    }

    @Test
    void aClientThatDisconnectsMidRequestChangesNothing() throws IOException {
        try (Raw raw = new Raw(socket)) {
            // Complete JSON, but no newline: not a request yet.
            raw.send("{\"version\":1,\"command\":\"fail\",\"volume\":\"vol0\",\"member\":\"1\"}");
        }
        Await.until(() -> server.activeConnections() == 0, DEADLINE, "the connection to end");
        assertEquals(List.of(), fake.changes());
        assertServedWell();
    }

    @Test
    void aClientThatNeverReadsItsReplyIsClosedAfterTheWriteTimeout() throws Exception {
        server.close();
        List<VolumeStatus> many = new ArrayList<>();
        VolumeStatus v = fake.status("vol0").get(0);
        for (int i = 0; i < 20_000; i++) {
            many.add(v);
        }
        server = ControlServer.start(
                socket,
                new FakeControlService() {
                    @Override
                    public synchronized List<VolumeStatus> status(String volume) throws ControlException {
                        return volume == null ? many : super.status(volume);
                    }
                },
                FAST);
        try (Raw raw = new Raw(socket)) {
            raw.send("{\"version\":1,\"command\":\"status\"}\n");
            // Several megabytes that nobody reads.
            Await.until(() -> server.activeConnections() == 1, DEADLINE, "the reply to be under way");
            try (ControlClient c = ControlClient.connect(socket)) {
                assertEquals(
                        "vol0",
                        c.call(new ControlRequest.Status("vol0"))
                                .get("volumes")
                                .get(0)
                                .get("name")
                                .asText());
            }
            Await.until(() -> server.activeConnections() == 0, DEADLINE, "the stalled connection to be closed");
        }
    }

    @Test
    void hundredsOfConnectionsAtOnceAreCappedAndEachOneToldWhy() throws IOException {
        List<Raw> flood = new ArrayList<>();
        try {
            for (int i = 0; i < 300; i++) {
                flood.add(new Raw(socket));
            }
            Await.until(
                    () -> server.rejectedConnections() + server.activeConnections() >= 300 - MAX_CONNECTIONS,
                    DEADLINE,
                    "the flood to be accepted or refused");
            int refused = 0;
            for (Raw r : flood) {
                List<String> reply = r.readToEnd();
                assertEquals(1, reply.size(), reply.toString());
                String error = ControlProtocol.mapper()
                        .readTree(reply.get(0))
                        .get("error")
                        .asText();
                if (error.equals("raidd is serving 8 control connections already; try again shortly")) {
                    refused++;
                } else {
                    assertEquals("no complete request line within 500 ms; closing", error);
                }
            }
            assertTrue(refused >= 100, refused + " refused");
        } finally {
            for (Raw r : flood) {
                r.close();
            }
        }
        Await.until(() -> server.activeConnections() == 0, DEADLINE, "the flood to end");
        assertEquals(List.of(), fake.changes());
        assertServedWell();
    }

    @Test
    void overTheCapRaidctlSaysWhyAndIsServedOnceSlotsFree() throws IOException {
        server.close();
        server = ControlServer.start(socket, fake, FAST.withIdleTimeout(DEADLINE));
        List<Raw> holding = new ArrayList<>();
        try {
            for (int i = 0; i < MAX_CONNECTIONS; i++) {
                holding.add(new Raw(socket));
            }
            Await.until(() -> server.activeConnections() == MAX_CONNECTIONS, DEADLINE, "every slot to be taken");
            assertRun(
                    1,
                    "",
                    "raidctl: raidd is serving 8 control connections already; try again shortly\n",
                    raidctl("fail", "vol0", "1"));
        } finally {
            for (Raw r : holding) {
                r.close();
            }
        }
        Await.until(() -> server.activeConnections() == 0, DEADLINE, "the slots to free");
        assertEquals(List.of(), fake.changes());
        assertRun(0, "vol0: /d/d1.img marked faulty\n", "", raidctl("fail", "vol0", "1"));
    }

    @Test
    void aMonitorThatNeverReadsDoesNotHoldUpEmitOrOtherMonitors() throws Exception {
        Logger daemonLog = Logger.getLogger("io.raidd.daemon");
        daemonLog.setUseParentHandlers(false);
        try (Raw stuck = new Raw(socket);
                Raw reader = new Raw(socket)) {
            stuck.send("{\"version\":1,\"command\":\"monitor\"}\n");
            assertEquals("{\"subscribed\":true}", stuck.readLine());
            reader.send("{\"version\":1,\"command\":\"monitor\"}\n");
            assertEquals("{\"subscribed\":true}", reader.readLine());
            String detail = "x".repeat(2000);
            long start = System.nanoTime();
            // About 10 MB of events: far more than the socket and the queue hold.
            int events = 5000;
            List<String> seen = Collections.synchronizedList(new ArrayList<>());
            CompletableFuture<Void> reading = CompletableFuture.runAsync(() -> {
                try {
                    while (true) {
                        String line = reader.readLine();
                        if (line.startsWith("{\"event\"")) {
                            seen.add(line);
                        } else if (!line.startsWith("{\"dropped\"")) {
                            fail("unexpected line " + line);
                        }
                        if (line.contains("\"detail\":\"last\"")) {
                            return;
                        }
                    }
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            });
            for (int i = 0; i < events; i++) {
                fake.events().emit(ArrayEvent.of(EventType.Rebuild20, "vol0", "", detail + i));
            }
            long tookNs = System.nanoTime() - start;
            assertTrue(tookNs < Duration.ofSeconds(5).toNanos(), "emitting took " + tookNs / 1_000_000 + " ms");
            Await.until(() -> server.droppedEvents() > 0, DEADLINE, "the stuck monitor's events to be dropped");
            Await.until(() -> server.activeConnections() == 1, DEADLINE, "the stuck monitor to be closed");
            // The reader has long caught up (its writer was never stuck): this one is not dropped.
            fake.events().emit(ArrayEvent.of(EventType.RebuildFinished, "vol0", "", "last"));
            reading.get(DEADLINE.toSeconds(), TimeUnit.SECONDS);
            assertTrue(
                    seen.get(seen.size() - 1).contains("\"detail\":\"last\""),
                    "the reading monitor got the last event");
        } finally {
            daemonLog.setUseParentHandlers(true);
        }
    }

    @Test
    void aWaitEndsWhenItsClientLeaves() throws IOException {
        fake.awaitGate(new CountDownLatch(1));
        fake.awaitScript(List.of(at("rebuilding", "rebuild", 1, 10), at("clean", "idle", 0, 0)));
        try (Raw raw = new Raw(socket)) {
            raw.send("{\"version\":1,\"command\":\"wait\",\"volume\":\"vol0\",\"intervalMillis\":100}\n");
            assertTrue(raw.readLine().startsWith("{\"progress\":{\"name\":\"vol0\""));
            Await.until(() -> fake.awaitsStarted() == 1, DEADLINE, "the wait to block");
        }
        Await.until(() -> fake.awaitsInterrupted() == 1, DEADLINE, "the wait to be interrupted");
        Await.until(() -> server.activeConnections() == 0, DEADLINE, "the connection to end");
    }

    private void assertServedWell() {
        try (ControlClient c = ControlClient.connect(socket)) {
            JsonNode r = c.call(new ControlRequest.Status(null));
            assertEquals(2, r.get("volumes").size());
        } catch (IOException | ControlException e) {
            throw new AssertionError("a well-behaved client was not served: " + e, e);
        }
    }

    private static List<String> names(JsonNode n) {
        List<String> names = new ArrayList<>();
        for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
            names.add(it.next());
        }
        return names;
    }

    /** A client that speaks bytes, not the protocol; every wait has a deadline. */
    static final class Raw implements AutoCloseable {
        private final SocketChannel channel;
        private final ByteBuffer in = ByteBuffer.allocate(1 << 20);
        private final StringBuilder pending = new StringBuilder();
        private boolean ended;

        Raw(Path socket) throws IOException {
            channel = SocketChannel.open(UnixDomainSocketAddress.of(socket));
            channel.configureBlocking(false);
        }

        void send(String text) throws IOException {
            send(text.getBytes(StandardCharsets.UTF_8));
        }

        /** Sends what raidd takes; stops quietly once raidd has closed (it may refuse midway). */
        void send(byte[] bytes) throws IOException {
            ByteBuffer b = ByteBuffer.wrap(bytes);
            long deadline = System.nanoTime() + DEADLINE.toNanos();
            try (Selector s = Selector.open()) {
                channel.register(s, SelectionKey.OP_WRITE);
                while (b.hasRemaining()) {
                    try {
                        if (channel.write(b) == 0) {
                            if (System.nanoTime() > deadline) {
                                fail("raidd neither read nor closed");
                            }
                            s.select(100);
                        }
                    } catch (IOException e) {
                        return;
                    }
                }
            }
        }

        /** One line (without its newline); fails at the deadline or at the end of the stream. */
        String readLine() throws IOException {
            long deadline = System.nanoTime() + DEADLINE.toNanos();
            while (true) {
                int nl = pending.indexOf("\n");
                if (nl >= 0) {
                    String line = pending.substring(0, nl);
                    pending.delete(0, nl + 1);
                    return line;
                }
                if (ended) {
                    fail("raidd closed; no more lines (had: " + pending + ")");
                }
                readSome(deadline);
            }
        }

        /** Every line until raidd closes (a reset after its reply counts as closing). */
        List<String> readToEnd() throws IOException {
            long deadline = System.nanoTime() + DEADLINE.toNanos();
            while (!ended) {
                readSome(deadline);
            }
            List<String> lines = new ArrayList<>();
            for (String l : pending.toString().split("\n", -1)) {
                if (!l.isEmpty()) {
                    lines.add(l);
                }
            }
            assertNotNull(lines);
            pending.setLength(0);
            return lines;
        }

        private void readSome(long deadline) throws IOException {
            try (Selector s = Selector.open()) {
                channel.register(s, SelectionKey.OP_READ);
                while (true) {
                    in.clear();
                    int n;
                    try {
                        n = channel.read(in);
                    } catch (IOException e) {
                        ended = true;
                        return;
                    }
                    if (n < 0) {
                        ended = true;
                        return;
                    }
                    if (n > 0) {
                        pending.append(new String(in.array(), 0, n, StandardCharsets.UTF_8));
                        return;
                    }
                    if (System.nanoTime() > deadline) {
                        fail("no reply from raidd within " + DEADLINE);
                    }
                    s.select(100);
                }
            }
        }

        @Override
        public void close() throws IOException {
            channel.close();
        }
    }
}
