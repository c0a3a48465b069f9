package io.raidd.raid.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The runner's decisions, driven by hand with an injected clock (no thread, no sleeps). */
class AgentRunnerTest {
    private final AtomicLong now = new AtomicLong(1_000_000_000L);
    private final AtomicBoolean busy = new AtomicBoolean();

    /** A sync action that covers {@code total} bytes in steps of {@code step}. */
    static final class Steps implements Agent {
        final String name;
        final long total;
        final long step;
        long done;
        int calls;

        Steps(String name, long total, long step) {
            this.name = name;
            this.total = total;
            this.step = step;
        }

        @Override
        public String action() {
            return name;
        }

        @Override
        public long doWork() {
            calls++;
            long n = Math.min(step, total - done);
            done += n;
            return n;
        }

        @Override
        public boolean done() {
            return done >= total;
        }

        @Override
        public long doneBytes() {
            return done;
        }

        @Override
        public long totalBytes() {
            return total;
        }
    }

    private AgentRunner runner(RateLimits limits) {
        return new AgentRunner("t", limits, now::get, busy::get);
    }

    @Test
    void unlimitedIdleRunsStepAfterStepWithoutWaiting() {
        AgentRunner r = runner(new RateLimits(1 << 20, RateLimits.UNLIMITED));
        Steps a = new Steps("rebuild", 10 << 20, 1 << 20);
        r.enqueue(a);
        for (int i = 0; i < 9; i++) {
            assertEquals(0, r.runOnce(), "step " + i);
        }
        r.runOnce();
        assertTrue(a.done());
        assertFalse(r.busy());
        assertEquals(Long.MAX_VALUE, r.runOnce(), "nothing left: only new work wakes it");
    }

    @Test
    void foregroundActivityHoldsTheActionToItsMinimumAndIdleToItsMaximum() {
        AgentRunner r = runner(new RateLimits(1 << 20, 4 << 20));
        Steps a = new Steps("rebuild", 100 << 20, 1 << 20);
        r.enqueue(a);
        busy.set(true);
        long wait = r.runOnce();
        assertEquals(1_000_000_000L, wait, "1 MiB at 1 MiB/s: the next step in a second");
        now.addAndGet(wait / 2);
        assertEquals(wait / 2, r.runOnce(), "not before its time");
        assertEquals(1, a.calls);
        now.addAndGet(wait / 2);
        busy.set(false);
        assertEquals(250_000_000L, r.runOnce(), "idle: 1 MiB at 4 MiB/s");
        assertEquals(2, a.calls);
    }

    @Test
    void actionsRunOneAtATimeInOrderAndPauseHoldsThem() {
        AgentRunner r = runner(RateLimits.DEFAULT);
        Steps first = new Steps("resync", 2, 1);
        Steps second = new Steps("rebuild", 1, 1);
        r.enqueue(first);
        r.enqueue(second);
        assertEquals("resync", r.progress().action());
        assertEquals(1, r.progress().pending());
        r.pause();
        r.runOnce();
        assertEquals(0, first.calls, "paused");
        assertTrue(r.progress().paused());
        r.resume();
        r.runOnce();
        r.runOnce();
        assertTrue(first.done());
        assertEquals(0, second.calls);
        r.runOnce();
        assertTrue(second.done());
        assertTrue(r.progress().idle());
    }

    @Test
    void progressReportsRateAndEta() {
        AgentRunner r = runner(new RateLimits(1 << 20, 1 << 20));
        Steps a = new Steps("rebuild", 10 << 20, 1 << 20);
        r.enqueue(a);
        for (int i = 0; i < 4; i++) {
            now.addAndGet(r.runOnce());
        }
        SyncProgress p = r.progress();
        assertEquals(4 << 20, p.doneBytes());
        assertEquals(10 << 20, p.totalBytes());
        assertEquals(1 << 20, p.bytesPerSecond(), 1 << 16);
        assertEquals(6, p.etaSeconds(), 1);
    }

    @Test
    void aFailingStepEndsItsActionAndTheNextOneRuns() {
        AgentRunner r = runner(RateLimits.DEFAULT);
        Throwable[] seen = new Throwable[1];
        r.enqueue(new Agent() {
            @Override
            public String action() {
                return "rebuild";
            }

            @Override
            public long doWork() throws IOException {
                throw new IOException("array failed");
            }

            @Override
            public boolean done() {
                return false;
            }

            @Override
            public void stopped(Throwable cause) {
                seen[0] = cause;
            }
        });
        Steps next = new Steps("resync", 1, 1);
        r.enqueue(next);
        r.runOnce();
        assertEquals("array failed", seen[0].getMessage());
        assertTrue(r.lastFailure().contains("array failed"));
        r.runOnce();
        assertTrue(next.done());
    }

    @Test
    void periodicAgentsRunWhenTheirPeriodHasPassed() {
        AgentRunner r = runner(RateLimits.DEFAULT);
        int[] runs = {0};
        r.addPeriodic(new Agent() {
            @Override
            public String action() {
                return "safe-mode";
            }

            @Override
            public long doWork() {
                runs[0]++;
                return 0;
            }

            @Override
            public boolean done() {
                return false;
            }

            @Override
            public long periodNanos() {
                return 500_000_000L;
            }
        });
        assertEquals(500_000_000L, r.runOnce());
        assertEquals(0, runs[0]);
        now.addAndGet(500_000_000L);
        assertEquals(500_000_000L, r.runOnce());
        assertEquals(1, runs[0]);
    }
}
