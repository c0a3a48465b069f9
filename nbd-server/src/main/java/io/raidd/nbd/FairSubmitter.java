package io.raidd.nbd;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Hands one connection's device calls to the shared I/O pool, at most {@code maxRunning} at a
 * time. Without the cap, one client with many slow requests (multi-GiB NO_HOLE zeroing, a hung
 * disk) could occupy every pool thread and stall all other clients; with it, each connection holds
 * a bounded share and the pool's FIFO queue interleaves connections. Thread-safe.
 */
final class FairSubmitter {
    /** Work for the pool, with what to do instead when the pool refuses it (shutdown). */
    interface Task {
        void run();

        void rejected();
    }

    private final Executor pool;
    private final int maxRunning;
    private final ConcurrentLinkedQueue<Task> waiting = new ConcurrentLinkedQueue<>();
    private final AtomicInteger running = new AtomicInteger();

    FairSubmitter(Executor pool, int maxRunning) {
        this.pool = pool;
        this.maxRunning = maxRunning;
    }

    void submit(Task task) {
        waiting.add(task);
        dispatch();
    }

    private void dispatch() {
        while (!waiting.isEmpty()) {
            int r = running.get();
            if (r >= maxRunning) {
                return;
            }
            if (!running.compareAndSet(r, r + 1)) {
                continue;
            }
            Task task = waiting.poll();
            if (task == null) {
                running.decrementAndGet();
                continue;
            }
            try {
                pool.execute(() -> runThenDispatch(task));
            } catch (RejectedExecutionException e) {
                running.decrementAndGet();
                task.rejected();
            }
        }
    }

    private void runThenDispatch(Task task) {
        try {
            task.run();
        } finally {
            running.decrementAndGet();
            dispatch();
        }
    }

    int running() {
        return running.get();
    }

    int waiting() {
        return waiting.size();
    }
}
