package io.raidd.nbd;

import java.util.concurrent.Executor;

/** What every connection of one server shares. */
final class ServerContext {
    final NbdServerConfig config;
    final ExportRegistry registry;
    final Executor ioExecutor;
    final SharedByteBudget sharedBudget;
    private volatile boolean shuttingDown;

    ServerContext(NbdServerConfig config, ExportRegistry registry, Executor ioExecutor) {
        this.config = config;
        this.registry = registry;
        this.ioExecutor = ioExecutor;
        this.sharedBudget = new SharedByteBudget(config.maxInFlightBytesTotal());
    }

    boolean shuttingDown() {
        return shuttingDown;
    }

    void beginShutdown() {
        shuttingDown = true;
    }
}
