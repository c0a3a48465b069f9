package io.raidd.nbd;

import java.util.concurrent.Executor;

/** What every connection of one server shares. */
final class ServerContext {
    /** Memory kept for reuse by {@link DataBufferPool} once a burst of large requests is over. */
    private static final long MAX_IDLE_DATA_BUFFER_BYTES = 128L * 1024 * 1024;

    final NbdServerConfig config;
    final ExportRegistry registry;
    final Executor ioExecutor;
    final SharedByteBudget sharedBudget;
    final DataBufferPool dataBuffers;
    private volatile boolean shuttingDown;

    ServerContext(NbdServerConfig config, ExportRegistry registry, Executor ioExecutor) {
        this.config = config;
        this.registry = registry;
        this.ioExecutor = ioExecutor;
        this.sharedBudget = new SharedByteBudget(config.maxInFlightBytesTotal());
        this.dataBuffers = new DataBufferPool(Math.min(MAX_IDLE_DATA_BUFFER_BYTES, config.maxInFlightBytesTotal()));
    }

    boolean shuttingDown() {
        return shuttingDown;
    }

    void beginShutdown() {
        shuttingDown = true;
    }
}
