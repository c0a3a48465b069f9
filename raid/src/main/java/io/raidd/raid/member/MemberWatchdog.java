package io.raidd.raid.member;

import java.lang.System.Logger.Level;
import java.util.concurrent.TimeUnit;

/**
 * Gives up on member I/O that runs on a caller's thread (see {@link IoBatch}) and overruns the
 * member timeout: the operation that issued it is abandoned and rescued ({@link Operation}), which
 * fails the member, releases what the stuck thread held and answers the request from the other
 * members. The stuck thread itself may stay in the kernel for as long as the disk hangs; nothing
 * waits for it any more. (I/O on members' own threads needs no watchdog: whoever waits for it waits
 * with a deadline.)
 */
public final class MemberWatchdog implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger("io.raidd.raid");

    private final MemberLifecycle members;
    private final long timeoutNs;
    private final Thread thread;
    private volatile boolean stopped;

    public MemberWatchdog(String arrayName, MemberLifecycle members, long timeoutNs) {
        this.members = members;
        this.timeoutNs = timeoutNs;
        this.thread = new Thread(this::run, "raidd-watchdog-" + arrayName);
        this.thread.setDaemon(true);
    }

    public void start() {
        thread.start();
    }

    /** Checks every member once; returns how many operations it gave up on. Called by the thread, and by tests. */
    public int check(long nowNanos) {
        int expired = 0;
        for (Member m : members.roster().everyMember()) {
            for (IoBatch.Op op : m.inlineOpsStartedBefore(nowNanos - timeoutNs)) {
                Operation operation = op.operation;
                if (operation == null || !op.abandon()) {
                    continue;
                }
                m.noteTimeout();
                String reason = op.describe().replace(" failed: null", "") + " on the caller's thread timed out after "
                        + TimeUnit.NANOSECONDS.toMillis(nowNanos - op.startNanos) + " ms";
                if (operation.abandon(members, m, reason, timeoutNs)) {
                    expired++;
                }
            }
        }
        return expired;
    }

    /** How often members are asked whether they are still the device raidd opened. */
    static final long IDENTITY_PERIOD_NANOS = TimeUnit.SECONDS.toNanos(1);

    /** Identity checks run here: a check of a hung device (stat on a FUSE file) must not stall the watchdog. */
    private static final java.util.concurrent.ExecutorService IDENTITY =
            java.util.concurrent.Executors.newCachedThreadPool(r -> {
                Thread t = new Thread(r, "raidd-identity");
                t.setDaemon(true);
                return t;
            });

    private final java.util.Map<Member, java.util.concurrent.Future<?>> identityChecks =
            new java.util.concurrent.ConcurrentHashMap<>();
    private long nextIdentityCheckNanos;

    /**
     * Asks every live member's device whether it shrank, vanished or changed identity ({@link
     * io.raidd.blockdev.BlockDevice#checkIdentity}); one that did is failed at once
     * (DeviceDisappeared). A check still running from last time (a hung device) is not repeated.
     */
    public void checkIdentities() {
        for (Member m : members.roster().everyMember()) {
            if (!m.live() || m.device() == null) {
                identityChecks.remove(m);
                continue;
            }
            java.util.concurrent.Future<?> previous = identityChecks.get(m);
            if (previous != null && !previous.isDone()) {
                continue;
            }
            identityChecks.put(m, IDENTITY.submit(() -> {
                try {
                    m.device().checkIdentity();
                } catch (io.raidd.blockdev.DeviceGoneException e) {
                    try {
                        members.fail(m, e.getMessage(), io.raidd.raid.event.EventType.DeviceDisappeared);
                    } catch (Exception failing) {
                        LOG.log(Level.ERROR, "failing {0}: {1}", m.name(), failing.getMessage());
                    }
                } catch (Exception e) {
                    LOG.log(Level.DEBUG, "identity check of {0}: {1}", m.name(), e.getMessage());
                }
            }));
        }
    }

    private void run() {
        long periodNs =
                Math.max(TimeUnit.MILLISECONDS.toNanos(10), Math.min(TimeUnit.SECONDS.toNanos(1), timeoutNs / 8));
        while (!stopped) {
            java.util.concurrent.locks.LockSupport.parkNanos(this, periodNs);
            try {
                long now = System.nanoTime();
                check(now);
                if (now - nextIdentityCheckNanos >= 0) {
                    nextIdentityCheckNanos = now + IDENTITY_PERIOD_NANOS;
                    checkIdentities();
                }
            } catch (RuntimeException e) {
                LOG.log(Level.ERROR, "watchdog: {0}", e.toString());
            }
        }
    }

    @Override
    public void close() {
        stopped = true;
        java.util.concurrent.locks.LockSupport.unpark(thread);
    }
}
