package io.raidd.nbd;

import java.util.concurrent.Executor;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.atomic.AtomicInteger;

/** What every connection of one server shares. */
final class ServerContext {
    /** Memory kept for reuse by {@link DataBufferPool} once a burst of large requests is over. */
    private static final long MAX_IDLE_DATA_BUFFER_BYTES = 128L * 1024 * 1024;

    final NbdServerConfig config;
    final ExportRegistry registry;
    final Executor ioExecutor;
    final BufferBudget bufferBudget;
    final DataBufferPool dataBuffers;
    private volatile boolean shuttingDown;
    /** I/O threads stuck in a device call whose request the device answered from elsewhere. */
    private final AtomicInteger stuckWorkers = new AtomicInteger();

    ServerContext(NbdServerConfig config, ExportRegistry registry, Executor ioExecutor) {
        this.config = config;
        this.registry = registry;
        this.ioExecutor = ioExecutor;
        // A quarter of the ceiling is the reserve for connections that hold nothing (BufferBudget):
        // enough for a 1 MiB reply slice at the smallest ceiling (32 MiB), and for many clients
        // waiting on one reply each at the default.
        this.bufferBudget = new BufferBudget(config.maxBufferedBytes(), config.maxBufferedBytes() / 4);
        // Idle buffers stay resident: they count against the ceiling's worth of memory the server
        // may keep, half of it at most.
        this.dataBuffers = new DataBufferPool(Math.min(MAX_IDLE_DATA_BUFFER_BYTES, config.maxBufferedBytes() / 2));
    }

    /**
     * An I/O thread is stuck in a device call (a hung disk) whose outcome the device delivered
     * from another thread: the pool gets one more thread, so stuck threads never starve the others.
     */
    void workerStuck() {
        stuckWorkers.incrementAndGet();
        if (ioExecutor instanceof ThreadPoolExecutor pool) {
            synchronized (pool) {
                pool.setMaximumPoolSize(pool.getMaximumPoolSize() + 1);
                pool.setCorePoolSize(pool.getCorePoolSize() + 1);
            }
        }
    }

    /** A stuck I/O thread came back from its device call. */
    void workerReturned() {
        stuckWorkers.decrementAndGet();
        if (ioExecutor instanceof ThreadPoolExecutor pool) {
            synchronized (pool) {
                pool.setCorePoolSize(pool.getCorePoolSize() - 1);
                pool.setMaximumPoolSize(pool.getMaximumPoolSize() - 1);
            }
        }
    }

    /** I/O threads stuck in device calls nobody waits for any more. */
    int stuckWorkers() {
        return stuckWorkers.get();
    }

    boolean shuttingDown() {
        return shuttingDown;
    }

    void beginShutdown() {
        shuttingDown = true;
    }
}
