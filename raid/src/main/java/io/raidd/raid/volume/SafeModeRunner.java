package io.raidd.raid.volume;

import java.lang.System.Logger.Level;
import java.util.concurrent.locks.LockSupport;

/** Calls {@link RaidVolume#tryMarkClean()} a few times per safe-mode delay, on a daemon thread. */
final class SafeModeRunner implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger("io.raidd.raid");

    private final RaidVolume volume;
    private final long periodNs;
    private final Thread thread;
    private volatile boolean stopped;

    SafeModeRunner(RaidVolume volume, long delayNs) {
        this.volume = volume;
        this.periodNs = Math.max(1_000_000L, delayNs / 4);
        this.thread = new Thread(this::run, "raidd-safemode-" + volume.name());
        this.thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    private void run() {
        while (!stopped) {
            LockSupport.parkNanos(this, periodNs);
            try {
                volume.tryMarkClean();
            } catch (Exception e) {
                LOG.log(Level.WARNING, "array {0}: marking clean failed: {1}", volume.name(), e.getMessage());
            }
        }
    }

    @Override
    public void close() {
        stopped = true;
        LockSupport.unpark(thread);
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
