package io.raidd.raid.member;

import java.lang.System.Logger.Level;
import java.util.concurrent.TimeUnit;

/**
 * Fails members whose inline I/O (run on a caller's thread, see {@link IoBatch}) overruns the
 * member timeout, and interrupts the stuck caller so it can serve the request from redundancy.
 * A thread stuck inside the kernel (a disk in D state) only sees the interrupt when the system call
 * returns; the member is failed either way, so no new I/O is sent to it.
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

    /** Checks every member once; returns how many calls expired. Called by the thread, and by tests. */
    public int check(long nowNanos) {
        int expired = 0;
        for (Member m : members.liveMembers()) {
            for (Member.InlineCall call : m.expireInlineCallsStartedBefore(nowNanos - timeoutNs)) {
                expired++;
                String reason = "I/O on the caller's thread timed out after "
                        + TimeUnit.NANOSECONDS.toMillis(nowNanos - call.startNanos) + " ms";
                try {
                    members.fail(m, reason);
                } catch (Exception e) {
                    LOG.log(Level.ERROR, "failing {0} after a timeout: {1}", m.name(), e.getMessage());
                }
                call.interruptIfRunning();
            }
        }
        return expired;
    }

    private void run() {
        long periodNs =
                Math.max(TimeUnit.MILLISECONDS.toNanos(10), Math.min(TimeUnit.SECONDS.toNanos(1), timeoutNs / 4));
        while (!stopped) {
            java.util.concurrent.locks.LockSupport.parkNanos(this, periodNs);
            check(System.nanoTime());
        }
    }

    @Override
    public void close() {
        stopped = true;
        java.util.concurrent.locks.LockSupport.unpark(thread);
    }
}
