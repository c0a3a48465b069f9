package io.raidd.cli.daemon;

import io.raidd.raid.volume.RaidVolume;
import io.raidd.raid.volume.ResyncAgent;
import java.io.IOException;
import java.lang.System.Logger.Level;

/**
 * Drives a volume's resync agent on a background thread after an unclean shutdown, logging
 * progress every tenth, until done or closed.
 */
final class ResyncRunner implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger("io.raidd.daemon");
    private static final int UNITS_PER_STEP = 4;

    private final RaidVolume volume;
    private final ResyncAgent agent;
    private final Thread thread;
    private volatile boolean stopped;

    ResyncRunner(RaidVolume volume) {
        this.volume = volume;
        this.agent = volume.resyncAgent();
        this.thread = new Thread(this::run, "raidd-resync-" + volume.name());
        this.thread.setDaemon(true);
    }

    void start() {
        LOG.log(
                Level.WARNING,
                "array {0} was not shut down cleanly: resyncing redundancy of {1} units in the background",
                volume.name(),
                agent.units());
        thread.start();
    }

    private void run() {
        long nextReport = agent.units() / 10;
        try {
            while (!stopped && agent.doWork(UNITS_PER_STEP) > 0) {
                if (agent.cursor() >= nextReport && !agent.done()) {
                    LOG.log(
                            Level.INFO,
                            "array {0}: resync {1}% ({2} blocks rewritten so far)",
                            volume.name(),
                            agent.cursor() * 100 / agent.units(),
                            agent.rewritten());
                    nextReport += Math.max(1, agent.units() / 10);
                }
            }
        } catch (IOException | RuntimeException e) {
            LOG.log(
                    Level.ERROR,
                    "array {0}: resync stopped at unit {1}: {2}",
                    volume.name(),
                    agent.cursor(),
                    e.getMessage());
        }
    }

    @Override
    public void close() {
        stopped = true;
        try {
            thread.join(30_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
