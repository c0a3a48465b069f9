package io.raidd.cli.daemon;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raidd.cli.Await;
import io.raidd.raid.event.ArrayEvent;
import io.raidd.raid.event.EventType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EventHubTest {
    private static final Duration DEADLINE = Duration.ofSeconds(20);

    @TempDir
    Path dir;

    private final List<LogRecord> logged = Collections.synchronizedList(new ArrayList<>());
    private final Handler capture = new Handler() {
        @Override
        public void publish(LogRecord r) {
            logged.add(r);
        }

        @Override
        public void flush() {}

        @Override
        public void close() {}
    };
    private final Logger daemonLog = Logger.getLogger("io.raidd.daemon");

    @BeforeEach
    void captureLog() {
        daemonLog.addHandler(capture);
        daemonLog.setUseParentHandlers(false);
    }

    @AfterEach
    void releaseLog() {
        daemonLog.removeHandler(capture);
        daemonLog.setUseParentHandlers(true);
    }

    private List<String> messages(Level level) {
        List<String> out = new ArrayList<>();
        synchronized (logged) {
            for (LogRecord r : logged) {
                if (r.getLevel().equals(level)) {
                    out.add(java.text.MessageFormat.format(
                            r.getMessage(), r.getParameters() == null ? new Object[0] : r.getParameters()));
                }
            }
        }
        return out;
    }

    private Path script(String name, String body) throws IOException {
        Path p = dir.resolve(name);
        Files.writeString(p, "#!/bin/sh\n" + body + "\n");
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwx------"));
        return p;
    }

    @Test
    void logsEachEventOnceAlarmsAsWarnings() {
        try (EventHub hub = new EventHub()) {
            hub.emit(ArrayEvent.of(EventType.NewArray, "vol0", "", "6 members"));
            hub.emit(ArrayEvent.of(EventType.Fail, "vol0", "/d/d1.img", "write error"));
            assertEquals(List.of("event: NewArray vol0: 6 members"), messages(Level.INFO));
            assertEquals(List.of("event: Fail vol0 /d/d1.img: write error"), messages(Level.WARNING));
            assertEquals(2, hub.emitted());
        }
    }

    @Test
    void deliversToSubscribersUntilTheyUnsubscribeAndSurvivesOnesThatThrow() throws Exception {
        try (EventHub hub = new EventHub()) {
            List<ArrayEvent> a = new ArrayList<>();
            List<ArrayEvent> b = new ArrayList<>();
            AutoCloseable subA = hub.subscribe(a::add);
            AutoCloseable bad = hub.subscribe(e -> {
                throw new IllegalStateException("subscriber bug");
            });
            hub.subscribe(b::add);
            ArrayEvent first = ArrayEvent.of(EventType.MemberAdded, "vol0", "/d/s.img", "spare");
            assertDoesNotThrow(() -> hub.emit(first));
            subA.close();
            bad.close();
            ArrayEvent second = ArrayEvent.of(EventType.MemberRemoved, "vol0", "/d/s.img", "");
            hub.emit(second);
            assertEquals(List.of(first), a);
            assertEquals(List.of(first, second), b);
            assertEquals(1, hub.subscribers());
            assertTrue(messages(Level.WARNING).stream().anyMatch(m -> m.startsWith("event subscriber failed")));
            assertDoesNotThrow(() -> hub.emit(null));
        }
    }

    @Test
    void runsTheEventProgramWithArgumentsAndEnvironment() throws IOException {
        Path out = dir.resolve("out.txt");
        Path prog = script(
                "notify",
                "echo \"$# [$1] [$2] [$3] $RAIDD_EVENT $RAIDD_VOLUME [$RAIDD_MEMBER] $RAIDD_DETAIL\" >> " + out
                        + "\necho said $1");
        try (EventHub hub = new EventHub(prog.toString())) {
            hub.emit(ArrayEvent.of(EventType.Fail, "vol0", "/d/d1.img", "write error at 4096"));
            hub.emit(ArrayEvent.of(EventType.NewArray, "vol1", "", "assembled"));
            Await.until(() -> hub.program().runs() == 2, DEADLINE, "two runs");
            assertEquals(
                    List.of(
                            "3 [Fail] [vol0] [/d/d1.img] Fail vol0 [/d/d1.img] write error at 4096",
                            "2 [NewArray] [vol1] [] NewArray vol1 [] assembled"),
                    Files.readAllLines(out));
            assertEquals(0, hub.program().failures());
            Await.until(
                    () -> messages(Level.INFO).contains("event program " + prog + ": said NewArray"),
                    DEADLINE,
                    "the program's output in the log");
        }
    }

    @Test
    void aFailingOrHangingProgramIsReportedAndKilled() throws IOException {
        Path prog = script(
                "flaky", "if [ \"$1\" = Fail ]; then exit 3; fi\nif [ \"$1\" = DataLost ]; then exec sleep 60; fi");
        long start = System.nanoTime();
        try (EventHub hub = new EventHub(prog.toString(), Duration.ofMillis(500), 8)) {
            hub.emit(ArrayEvent.of(EventType.Fail, "vol0", "/d/d1.img", ""));
            hub.emit(ArrayEvent.of(EventType.DataLost, "vol0", "", "stripe 7"));
            hub.emit(ArrayEvent.of(EventType.NewArray, "vol0", "", ""));
            Await.until(() -> hub.program().runs() == 3, DEADLINE, "three runs");
            assertEquals(2, hub.program().failures());
            List<String> warnings = messages(Level.WARNING);
            assertTrue(
                    warnings.contains("event program " + prog + " for Fail vol0 /d/d1.img exited with status 3"),
                    warnings.toString());
            assertTrue(
                    warnings.contains("event program " + prog + " for DataLost vol0 ran longer than 500 ms; killed"),
                    warnings.toString());
        }
        assertTrue(System.nanoTime() - start < Duration.ofSeconds(30).toNanos(), "the hanging run was killed");
        try (EventHub hub = new EventHub(dir.resolve("missing").toString())) {
            hub.emit(ArrayEvent.of(EventType.NewArray, "vol0", "", ""));
            Await.until(() -> hub.program().failures() == 1, DEADLINE, "a failure to start");
            assertTrue(messages(Level.WARNING).stream().anyMatch(m -> m.contains("could not be started")));
        }
    }

    @Test
    void emitNeverWaitsForTheProgram() throws IOException {
        Path prog = script("slow", "exec sleep 30");
        try (EventHub hub = new EventHub(prog.toString(), Duration.ofSeconds(1), 2)) {
            long start = System.nanoTime();
            for (int i = 0; i < 1000; i++) {
                hub.emit(ArrayEvent.of(EventType.Rebuild20, "vol0", "", "event " + i));
            }
            long tookNs = System.nanoTime() - start;
            assertTrue(tookNs < Duration.ofSeconds(1).toNanos(), "1000 emits took " + tookNs / 1_000_000 + " ms");
            // At most one running and two queued.
            assertTrue(
                    hub.program().dropped() >= 997, "dropped " + hub.program().dropped());
            assertTrue(messages(Level.WARNING).stream().anyMatch(m -> m.contains("is behind; not run for")));
        }
    }
}
