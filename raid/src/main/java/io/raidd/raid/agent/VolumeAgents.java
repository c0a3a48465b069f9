package io.raidd.raid.agent;

import io.raidd.raid.volume.RaidVolume;
import java.lang.System.Logger.Level;
import java.util.function.LongSupplier;

/**
 * A volume's background work, put together: one {@link AgentRunner} with safe mode as a periodic
 * agent and, after an unclean shutdown, a resync queued first. Built by the daemon (and by tests,
 * which drive the runner with their own clock) rather than by the volume itself.
 */
public final class VolumeAgents implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger("io.raidd.raid");

    private final RaidVolume volume;
    private final AgentRunner runner;
    private final LongSupplier clock;
    /** The rebuild queued or running, if any; guarded by itself (see {@link RebuildAgent#done}). */
    private final Object scheduling = new Object();

    private RebuildAgent rebuild;

    /** Agents on the system clock and a thread of their own. */
    public static VolumeAgents start(RaidVolume volume, RateLimits limits) {
        VolumeAgents agents = new VolumeAgents(volume, limits, System::nanoTime);
        agents.runner.start();
        return agents;
    }

    /** Agents driven by {@code clock}; nothing runs until {@link AgentRunner#runOnce} is called. */
    public VolumeAgents(RaidVolume volume, RateLimits limits, LongSupplier clock) {
        this.volume = volume;
        this.clock = clock;
        long[] seen = {volume.foregroundOperations()};
        this.runner = new AgentRunner(volume.name(), limits, clock, () -> {
            long started = volume.foregroundOperations();
            boolean busy = volume.foregroundInFlight() > 0 || started != seen[0];
            seen[0] = started;
            return busy;
        });
        if (volume.safeModeDelayNs() > 0) {
            runner.addPeriodic(new SafeModeAgent(volume, volume.safeModeDelayNs()));
        }
        if (volume.resyncPending()) {
            ResyncAgent resync = new ResyncAgent(volume);
            LOG.log(
                    Level.WARNING,
                    "array {0} was not shut down cleanly: resyncing redundancy of {1} stripes in the background",
                    volume.name(),
                    resync.units());
            runner.enqueue(resync);
        }
        volume.lifecycle().onRebuildNeeded(this::scheduleRebuild);
        if (volume.lifecycle().roster().anyRebuilding()) {
            scheduleRebuild();
        }
        runner.addPeriodic(new Agent() {
            @Override
            public String action() {
                return "retry";
            }

            @Override
            public long doWork() {
                retryPending();
                return 0;
            }

            @Override
            public boolean done() {
                return false;
            }

            @Override
            public long periodNanos() {
                return RETRY_NANOS;
            }
        });
    }

    /** How often work that could not finish (out of space, a rebuild that stopped) is tried again. */
    static final long RETRY_NANOS = 5_000_000_000L;

    /**
     * Tries again what stopped short: ranges a failed write left inconsistent are resynced, and a
     * rebuild that stopped on an error (a full disk under its target, say) starts again from its
     * checkpoint. Only when nothing else runs.
     */
    private void retryPending() {
        if (runner.busy()) {
            return;
        }
        java.util.List<long[]> ranges = volume.inconsistentRanges();
        if (!ranges.isEmpty()) {
            runner.enqueue(ResyncAgent.forRanges(volume, ranges));
        }
        if (volume.lifecycle().roster().anyRebuilding()) {
            scheduleRebuild();
        }
    }

    /**
     * Makes sure a rebuild is queued or running: members that start rebuilding while one runs join
     * it (it takes every rebuilding member each step), so RAID-6 rebuilds two at once in one pass.
     */
    private void scheduleRebuild() {
        synchronized (scheduling) {
            if (rebuild != null && !rebuild.finished()) {
                return;
            }
            rebuild = new RebuildAgent(volume, clock, scheduling);
        }
        runner.enqueue(rebuild);
    }

    /** Whether a resync or rebuild is running or waiting. */
    public boolean syncing() {
        return runner.busy();
    }

    /**
     * Waits until no resync or rebuild is running or queued (a rebuild that stopped on an error is
     * neither: status tells what is left); false on timeout.
     */
    public boolean awaitIdle(long timeoutNanos) throws InterruptedException {
        return runner.awaitIdle(timeoutNanos);
    }

    public RaidVolume volume() {
        return volume;
    }

    public AgentRunner runner() {
        return runner;
    }

    @Override
    public void close() {
        runner.close();
    }
}
