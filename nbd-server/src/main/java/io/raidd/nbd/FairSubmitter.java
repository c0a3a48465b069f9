package io.raidd.nbd;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;

/**
 * Runs one connection's device calls on the shared I/O pool with as few thread hand-offs as the
 * device allows, and never more than {@code maxRunning} at a time.
 *
 * <p>A worker taken from the pool keeps running this connection's queued requests until the queue
 * is empty, instead of going back to the pool after each one: on a fast device most requests then
 * cost no thread wake-up at all. A second worker (up to {@code maxRunning}) is added only when the
 * queue has waited without progress for {@code stallNanos}: a request held by a slow or hung
 * member, or a device with real latency where parallel requests are what makes it fast. A timer
 * re-checks while requests wait, so requests queued behind a hung one are still served.
 *
 * <p>Fairness between connections: the per-connection cap keeps one client from occupying every
 * pool thread, and a worker gives its thread back to the pool's FIFO queue after {@link
 * #TASKS_PER_TURN} requests so busy connections interleave. Thread-safe.
 */
final class FairSubmitter {
    /** Work for the pool, with what to do instead when the pool refuses it (shutdown). */
    interface Task {
        void run();

        void rejected();
    }

    /**
     * One worker's turn on a pool thread. A device that answered this worker's request from another
     * thread while the worker stays stuck in the device ({@link
     * io.raidd.blockdev.BlockDevice#runRescuable}) makes the request's task call {@link
     * FairSubmitter#lost}: the worker stops counting as running, and leaves once the device lets go.
     */
    static final class Worker {
        private final java.util.concurrent.atomic.AtomicBoolean lost = new java.util.concurrent.atomic.AtomicBoolean();
    }

    private static final ThreadLocal<Worker> CURRENT_WORKER = new ThreadLocal<>();

    /** The worker running on this thread, or null outside a worker. */
    static Worker currentWorker() {
        return CURRENT_WORKER.get();
    }

    /** Told when a worker gets stuck and when it comes back (the server grows its pool meanwhile). */
    interface StuckWorkers {
        void stuck();

        void returned();

        StuckWorkers NONE = new StuckWorkers() {
            @Override
            public void stuck() {}

            @Override
            public void returned() {}
        };
    }

    /** Schedules a one-shot check; the connection's event loop in the server. */
    interface Timer {
        void schedule(Runnable check, long delayNanos);
    }

    /** Requests one worker runs before it yields its pool thread to other connections. */
    static final int TASKS_PER_TURN = 64;

    /** Queued requests that saw no progress for this long get another worker. */
    static final long DEFAULT_STALL_NANOS = 100_000;

    /**
     * How often the check repeats while requests keep waiting: coarser than the stall time, so a
     * connection with a steady backlog wakes its event loop at most a thousand times a second.
     */
    static final long RECHECK_NANOS = 1_000_000;

    private final Executor pool;
    private final int maxRunning;
    private final Timer timer;
    private final LongSupplier clock;
    private final long stallNanos;
    private final StuckWorkers stuckWorkers;
    private final ConcurrentLinkedQueue<Task> waiting = new ConcurrentLinkedQueue<>();
    private final AtomicInteger queued = new AtomicInteger();
    private final AtomicInteger running = new AtomicInteger();
    private final AtomicBoolean checkScheduled = new AtomicBoolean();
    /** When a worker last started or finished a request. */
    private volatile long lastProgressNanos;

    FairSubmitter(Executor pool, int maxRunning, Timer timer, LongSupplier clock, long stallNanos) {
        this(pool, maxRunning, timer, clock, stallNanos, StuckWorkers.NONE);
    }

    FairSubmitter(
            Executor pool,
            int maxRunning,
            Timer timer,
            LongSupplier clock,
            long stallNanos,
            StuckWorkers stuckWorkers) {
        this.stuckWorkers = stuckWorkers;
        this.pool = pool;
        this.maxRunning = maxRunning;
        this.timer = timer;
        this.clock = clock;
        this.stallNanos = stallNanos;
    }

    void submit(Task task) {
        queued.incrementAndGet();
        waiting.add(task);
        if (!tryAddWorker()) {
            scheduleCheck(stallNanos);
        }
    }

    /** Adds a worker when none runs or the running ones made no progress lately. */
    private boolean tryAddWorker() {
        while (true) {
            int r = running.get();
            if (queued.get() == 0) {
                return true;
            }
            if (r >= maxRunning || (r > 0 && clock.getAsLong() - lastProgressNanos < stallNanos)) {
                return false;
            }
            if (running.compareAndSet(r, r + 1)) {
                startWorker();
                return true;
            }
        }
    }

    private void startWorker() {
        lastProgressNanos = clock.getAsLong();
        try {
            pool.execute(this::work);
        } catch (RejectedExecutionException e) {
            if (running.decrementAndGet() == 0) {
                rejectWaiting();
            }
        }
    }

    private void scheduleCheck(long delayNanos) {
        if (checkScheduled.compareAndSet(false, true)) {
            try {
                timer.schedule(this::check, delayNanos);
            } catch (RejectedExecutionException e) {
                // The event loop is shutting down; running workers still drain the queue.
                checkScheduled.set(false);
            }
        }
    }

    private void check() {
        checkScheduled.set(false);
        tryAddWorker();
        if (queued.get() > 0) {
            scheduleCheck(Math.max(stallNanos, RECHECK_NANOS));
        }
    }

    /**
     * The worker {@code w} is stuck in a device call whose request was answered elsewhere: it stops
     * counting as running (another worker may start) and leaves when it comes back. Once per worker.
     */
    void lost(Worker w) {
        if (w != null && w.lost.compareAndSet(false, true)) {
            stuckWorkers.stuck();
            running.decrementAndGet();
            lastProgressNanos = clock.getAsLong();
            tryAddWorker();
        }
    }

    private void work() {
        Worker self = new Worker();
        CURRENT_WORKER.set(self);
        try {
            work(self);
        } finally {
            CURRENT_WORKER.remove();
        }
    }

    private void work(Worker self) {
        int done = 0;
        while (true) {
            if (done == TASKS_PER_TURN) {
                try {
                    pool.execute(this::work);
                    return;
                } catch (RejectedExecutionException e) {
                    // The pool is shutting down and takes no new turns: finish the queue here.
                    done = 0;
                }
            }
            Task task = waiting.poll();
            if (task == null) {
                running.decrementAndGet();
                // A task added between the poll and the decrement saw this worker as running.
                if (queued.get() > 0) {
                    tryAddWorker();
                }
                return;
            }
            queued.decrementAndGet();
            done++;
            lastProgressNanos = clock.getAsLong();
            try {
                task.run();
            } finally {
                lastProgressNanos = clock.getAsLong();
            }
            if (self.lost.get()) {
                // Counted out while stuck; the device has let go of this thread now.
                stuckWorkers.returned();
                return;
            }
        }
    }

    private void rejectWaiting() {
        Task task;
        while ((task = waiting.poll()) != null) {
            queued.decrementAndGet();
            task.rejected();
        }
    }

    int running() {
        return running.get();
    }

    int waiting() {
        return queued.get();
    }
}
