package io.raidd.nbd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.RejectedExecutionException;
import org.junit.jupiter.api.Test;

class FairSubmitterTest {
    private static final long STALL = 100;

    /** The pool: runnables run only when the test says so. */
    private final Queue<Runnable> pool = new ArrayDeque<>();
    /** Checks scheduled on the "event loop", run only when the test says so. */
    private final Queue<Runnable> timers = new ArrayDeque<>();
    /** The delays those checks were scheduled with. */
    private final List<Long> delays = new ArrayList<>();

    private long now;

    private FairSubmitter submitter(int maxRunning) {
        return new FairSubmitter(
                pool::add,
                maxRunning,
                (check, delay) -> {
                    timers.add(check);
                    delays.add(delay);
                },
                () -> now,
                STALL);
    }

    private static FairSubmitter.Task task(List<String> log, String name, Runnable body) {
        return new FairSubmitter.Task() {
            @Override
            public void run() {
                log.add("run " + name);
                body.run();
            }

            @Override
            public void rejected() {
                log.add("rejected " + name);
            }
        };
    }

    private static FairSubmitter.Task task(List<String> log, String name) {
        return task(log, name, () -> {});
    }

    private void runPool() {
        Runnable r;
        while ((r = pool.poll()) != null) {
            r.run();
        }
    }

    @Test
    void oneWorkerRunsAQueueOfFastRequestsInOrderWithOneHandOff() {
        FairSubmitter s = submitter(4);
        List<String> log = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            s.submit(task(log, "a" + i));
        }
        assertEquals(1, pool.size(), "requests queued behind a worker that is making progress wait for it");
        assertEquals(1, s.running());
        assertEquals(5, s.waiting(), "the worker has not taken any yet");
        runPool();
        assertEquals(List.of("run a0", "run a1", "run a2", "run a3", "run a4"), log);
        assertEquals(0, s.running());
        assertEquals(0, s.waiting());
    }

    @Test
    void requestsStuckBehindASlowOneGetAnotherWorkerUpToTheCap() {
        FairSubmitter s = submitter(2);
        List<String> log = new ArrayList<>();
        // While the first request runs (and makes no progress), the rest of the test happens.
        s.submit(task(log, "slow", () -> {
            s.submit(task(log, "b"));
            s.submit(task(log, "c"));
            assertTrue(pool.isEmpty(), "no second worker while the first has just started");
            assertEquals(1, timers.size(), "a re-check is scheduled while requests wait");

            now += STALL;
            timers.poll().run();
            assertEquals(1, pool.size(), "no progress for the stall time: a second worker");
            assertEquals(2, s.running());

            s.submit(task(log, "d"));
            now += STALL;
            timers.poll().run();
            assertEquals(1, pool.size(), "the cap of 2 holds");
            assertEquals(1, timers.size(), "the check stays armed while requests wait");
            assertEquals(
                    List.of(STALL, Math.max(STALL, FairSubmitter.RECHECK_NANOS), FairSubmitter.RECHECK_NANOS),
                    delays,
                    "first check after the stall time, then at the coarser recheck period");
            pool.poll().run();
        }));
        pool.poll().run();
        assertEquals(List.of("run slow", "run b", "run c", "run d"), log);
        assertEquals(0, s.running());
        assertEquals(0, s.waiting());
        assertTrue(pool.isEmpty());
    }

    @Test
    void aBusyWorkerYieldsItsThreadSoOtherConnectionsInterleave() {
        FairSubmitter a = submitter(2);
        FairSubmitter b = submitter(2);
        List<String> log = new ArrayList<>();
        for (int i = 0; i < FairSubmitter.TASKS_PER_TURN + 1; i++) {
            a.submit(task(log, "a" + i));
        }
        b.submit(task(log, "b0"));
        runPool();
        int b0 = log.indexOf("run b0");
        assertEquals(FairSubmitter.TASKS_PER_TURN, b0, "b runs after a's first turn, before a's last request");
        assertEquals("run a" + FairSubmitter.TASKS_PER_TURN, log.get(log.size() - 1));
        assertEquals(0, a.running());
    }

    @Test
    void refusedWorkIsHandedBack() {
        FairSubmitter s = new FairSubmitter(
                command -> {
                    throw new RejectedExecutionException("shut down");
                },
                4,
                (check, delay) -> timers.add(check),
                () -> now,
                STALL);
        List<String> log = new ArrayList<>();
        s.submit(task(log, "x"));
        s.submit(task(log, "y"));
        assertEquals(List.of("rejected x", "rejected y"), log);
        assertEquals(0, s.running());
        assertEquals(0, s.waiting());
    }
}
