package io.raidd.raid.agent;

import java.lang.System.Logger.Level;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;

/**
 * Runs one volume's background agents on one thread: sync actions one at a time in the order they
 * were queued (paced by {@link RateLimits}: the maximum while the volume is idle, the minimum while
 * foreground I/O is active, so a rebuild yields to clients but never stalls), periodic agents
 * whenever their period has passed, pause and resume, and the progress (rate and ETA) status shows.
 *
 * <p>Every decision is made by {@link #runOnce}, which reads time only from the injected clock and
 * returns how long it wants to wait; the thread started by {@link #start} just calls it and parks.
 * Tests call {@link #runOnce} themselves with a hand-driven clock.
 */
public final class AgentRunner implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger("io.raidd.raid");

    /** Rate is measured over windows of this length (and reported from the last full one). */
    static final long RATE_WINDOW_NANOS = TimeUnit.SECONDS.toNanos(2);

    private final String volumeName;
    private final LongSupplier clock;
    private final BooleanSupplier foregroundBusy;
    private final Deque<Agent> queue = new ArrayDeque<>();
    private final List<Periodic> periodic = new ArrayList<>();
    private Agent current;
    private volatile RateLimits limits;
    private volatile boolean paused;
    private long nextStepNanos;
    private final RateMeter meter = new RateMeter();
    private Thread thread;
    private volatile boolean stopped;
    /** Agents that ended with a failure, newest last (status shows the last one). */
    private String lastFailure;

    private static final class Periodic {
        final Agent agent;
        long dueNanos;

        Periodic(Agent agent, long dueNanos) {
            this.agent = agent;
            this.dueNanos = dueNanos;
        }
    }

    public AgentRunner(String volumeName, RateLimits limits, LongSupplier clock, BooleanSupplier foregroundBusy) {
        this.volumeName = volumeName;
        this.limits = limits;
        this.clock = clock;
        this.foregroundBusy = foregroundBusy;
    }

    /** Starts the runner's thread (tests drive {@link #runOnce} instead). */
    public synchronized void start() {
        if (thread != null) {
            return;
        }
        thread = new Thread(this::loop, "raidd-agents-" + volumeName);
        thread.setDaemon(true);
        thread.start();
    }

    /** Queues a sync action behind the running one. */
    public void enqueue(Agent agent) {
        if (agent.periodNanos() > 0) {
            throw new IllegalArgumentException(agent.action() + " is periodic; use addPeriodic");
        }
        synchronized (this) {
            queue.add(agent);
            notifyAll();
        }
        wake();
    }

    /** Adds a periodic agent; its first run is one period from now. */
    public void addPeriodic(Agent agent) {
        if (agent.periodNanos() <= 0) {
            throw new IllegalArgumentException(agent.action() + " is not periodic");
        }
        synchronized (this) {
            periodic.add(new Periodic(agent, clock.getAsLong() + agent.periodNanos()));
        }
        wake();
    }

    public RateLimits limits() {
        return limits;
    }

    public void limits(RateLimits limits) {
        this.limits = limits;
        synchronized (this) {
            nextStepNanos = Math.min(nextStepNanos, clock.getAsLong());
        }
        wake();
    }

    public void pause() {
        paused = true;
    }

    public void resume() {
        paused = false;
        wake();
    }

    public boolean paused() {
        return paused;
    }

    /** The running sync action, or whether one is queued. */
    public synchronized SyncProgress progress() {
        Agent a = current != null ? current : queue.peek();
        if (a == null) {
            return SyncProgress.IDLE;
        }
        long done = a.doneBytes();
        long total = a.totalBytes();
        long rate = a == current ? meter.bytesPerSecond(clock.getAsLong()) : 0;
        long eta = rate > 0 && total > 0 ? Math.max(0, total - done) / rate : -1;
        return new SyncProgress(a.action(), done, total, rate, eta, paused, queue.size() - (a == current ? 0 : 1));
    }

    /** Whether any sync action is running or queued. */
    public synchronized boolean busy() {
        return current != null || !queue.isEmpty();
    }

    /** The last sync action that ended with an error, or null. */
    public synchronized String lastFailure() {
        return lastFailure;
    }

    /**
     * Waits until no sync action is running or queued; returns false on timeout.
     *
     * @param timeoutNanos how long to wait at most
     */
    public synchronized boolean awaitIdle(long timeoutNanos) throws InterruptedException {
        long deadline = System.nanoTime() + timeoutNanos;
        while (current != null || !queue.isEmpty()) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            TimeUnit.NANOSECONDS.timedWait(this, left);
        }
        return true;
    }

    /**
     * Makes every decision that is due now: runs periodic agents whose time has come, then at most
     * one step of the current sync action if its rate allows. Returns the nanoseconds until it
     * wants to be called again ({@link Long#MAX_VALUE} when only new work can wake it).
     */
    public long runOnce() {
        long now = clock.getAsLong();
        long wait = runDuePeriodics(now);
        Agent agent;
        synchronized (this) {
            if (current == null) {
                current = queue.poll();
                if (current != null) {
                    meter.reset(now);
                    nextStepNanos = now;
                    LOG.log(Level.DEBUG, "array {0}: {1} started", volumeName, current.action());
                }
            }
            agent = current;
            if (agent == null) {
                notifyAll();
                return wait;
            }
            if (paused) {
                return wait;
            }
            if (now < nextStepNanos) {
                return Math.min(wait, nextStepNanos - now);
            }
        }
        long bytes;
        try {
            bytes = agent.done() ? 0 : agent.doWork();
        } catch (Exception | Error e) {
            LOG.log(
                    Level.ERROR,
                    "array {0}: {1} stopped: {2}",
                    volumeName,
                    agent.action(),
                    String.valueOf(e.getMessage()));
            agent.stopped(e);
            synchronized (this) {
                lastFailure = agent.action() + ": " + e.getMessage();
                current = null;
                notifyAll();
            }
            return 0;
        }
        long after = clock.getAsLong();
        synchronized (this) {
            meter.add(after, bytes);
            if (agent.done()) {
                current = null;
                notifyAll();
                return 0;
            }
            long rate = foregroundBusy.getAsBoolean() ? limits.minBytesPerSecond() : limits.maxBytesPerSecond();
            if (rate != RateLimits.UNLIMITED && bytes > 0) {
                // Pace from when the step started, so the step's own time counts against the budget.
                nextStepNanos = Math.max(nextStepNanos, now) + (long) (bytes * 1e9 / rate);
            } else {
                nextStepNanos = after;
            }
            return Math.min(wait, Math.max(0, nextStepNanos - after));
        }
    }

    private long runDuePeriodics(long now) {
        long wait = Long.MAX_VALUE;
        List<Periodic> due = new ArrayList<>();
        synchronized (this) {
            for (Periodic p : periodic) {
                if (now >= p.dueNanos) {
                    due.add(p);
                    p.dueNanos = now + p.agent.periodNanos();
                }
                wait = Math.min(wait, p.dueNanos - now);
            }
        }
        for (Periodic p : due) {
            try {
                p.agent.doWork();
            } catch (Exception e) {
                LOG.log(Level.WARNING, "array {0}: {1} failed: {2}", volumeName, p.agent.action(), e.getMessage());
            }
        }
        return Math.max(0, wait);
    }

    private void loop() {
        while (!stopped) {
            long wait = runOnce();
            if (wait > 0 && !stopped) {
                LockSupport.parkNanos(this, wait);
            }
        }
    }

    private void wake() {
        Thread t = thread;
        if (t != null) {
            LockSupport.unpark(t);
        }
    }

    /** Stops the thread after its current step; agents not done are told so. */
    @Override
    public void close() {
        stopped = true;
        Thread t;
        synchronized (this) {
            t = thread;
        }
        if (t != null) {
            LockSupport.unpark(t);
            try {
                t.join(TimeUnit.SECONDS.toMillis(30));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        List<Agent> left = new ArrayList<>();
        synchronized (this) {
            if (current != null) {
                left.add(current);
            }
            left.addAll(queue);
            current = null;
            queue.clear();
            notifyAll();
        }
        for (Agent a : left) {
            a.stopped(null);
        }
    }

    /** Bytes per second over the last full window (or the current one while there is none). */
    static final class RateMeter {
        private long windowStart;
        private long windowBytes;
        private long lastRate = -1;

        void reset(long now) {
            windowStart = now;
            windowBytes = 0;
            lastRate = -1;
        }

        void add(long now, long bytes) {
            roll(now);
            windowBytes += bytes;
        }

        private void roll(long now) {
            long elapsed = now - windowStart;
            if (elapsed >= RATE_WINDOW_NANOS) {
                lastRate = (long) (windowBytes * 1e9 / elapsed);
                windowStart = now;
                windowBytes = 0;
            }
        }

        long bytesPerSecond(long now) {
            roll(now);
            if (lastRate >= 0) {
                return lastRate;
            }
            long elapsed = now - windowStart;
            return elapsed <= 0 ? 0 : (long) (windowBytes * 1e9 / elapsed);
        }
    }
}
