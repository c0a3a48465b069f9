package io.raidd.nbd;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.RejectedExecutionException;
import org.junit.jupiter.api.Test;

class FairSubmitterTest {
    private final Queue<Runnable> pool = new ArrayDeque<>();

    private static FairSubmitter.Task task(List<String> log, String name) {
        return new FairSubmitter.Task() {
            @Override
            public void run() {
                log.add("run " + name);
            }

            @Override
            public void rejected() {
                log.add("rejected " + name);
            }
        };
    }

    @Test
    void capsRunningTasksPerConnectionAndKeepsTheirOrder() {
        FairSubmitter a = new FairSubmitter(pool::add, 2);
        FairSubmitter b = new FairSubmitter(pool::add, 2);
        List<String> log = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            a.submit(task(log, "a" + i));
        }
        b.submit(task(log, "b0"));
        assertEquals(3, pool.size(), "two of a, then b: a cannot flood the pool");
        assertEquals(2, a.running());
        assertEquals(3, a.waiting());
        Runnable r;
        while ((r = pool.poll()) != null) {
            r.run();
        }
        assertEquals(List.of("run a0", "run a1", "run b0", "run a2", "run a3", "run a4"), log);
        assertEquals(0, a.running());
    }

    @Test
    void refusedWorkIsHandedBack() {
        FairSubmitter s = new FairSubmitter(
                command -> {
                    throw new RejectedExecutionException("shut down");
                },
                4);
        List<String> log = new ArrayList<>();
        s.submit(task(log, "x"));
        s.submit(task(log, "y"));
        assertEquals(List.of("rejected x", "rejected y"), log);
        assertEquals(0, s.running());
    }
}
