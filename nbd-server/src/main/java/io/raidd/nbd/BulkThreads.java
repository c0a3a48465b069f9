package io.raidd.nbd;

import io.netty.util.concurrent.DefaultThreadFactory;
import java.util.concurrent.ThreadFactory;
import jnr.ffi.LibraryLoader;

/**
 * Threads that do the bulk of the data work (device reads and writes, parity), run at a lower
 * scheduling priority (a higher nice value) than the event loops. The event loops admit requests,
 * enforce the budgets and answer reads the device holds in memory; on a machine whose cores the
 * bulk work saturates (RAID-5 writes from many clients on a two-core box) they otherwise queue for
 * the CPU behind every busy I/O thread, and a well-behaved client's 4 KiB read waited 15 ms at the
 * 99th percentile instead of 0.15 ms (measured with fio next to 32 streaming writers; with the I/O
 * threads at nice 15: 0.97 ms). The bulk work itself is bounded by the budgets the event loops
 * enforce, so they cannot starve it for longer than they have requests to admit. Threads the I/O
 * threads start (the members' executors are started lazily by the first request) inherit the
 * value. Linux only; elsewhere, or when the call fails, threads keep the default priority.
 */
final class BulkThreads {
    private static final System.Logger LOG = System.getLogger(BulkThreads.class.getName());

    /** The nice value of bulk threads; {@code -Draidd.nbd.ioNice=0} turns the demotion off. */
    static final int NICE = Integer.getInteger("raidd.nbd.ioNice", 10);

    private static final int PRIO_PROCESS = 0;

    private BulkThreads() {}

    /** The subset of libc used here; {@code setpriority(PRIO_PROCESS, tid, nice)} acts on one thread on Linux. */
    public interface Native {
        int gettid();

        int setpriority(int which, int who, int prio);
    }

    private static final Native NATIVE = load();

    private static Native load() {
        if (NICE == 0
                || !System.getProperty("os.name", "")
                        .toLowerCase(java.util.Locale.ROOT)
                        .contains("linux")) {
            return null;
        }
        try {
            return LibraryLoader.create(Native.class).load("c");
        } catch (RuntimeException | LinkageError e) {
            LOG.log(System.Logger.Level.DEBUG, () -> "I/O threads keep the default priority: " + e);
            return null;
        }
    }

    /** A factory of daemon threads named {@code prefix-N-M} that lower their own priority first. */
    static ThreadFactory factory(String prefix) {
        ThreadFactory named = new DefaultThreadFactory(prefix, true);
        return r -> named.newThread(() -> {
            demoteCurrentThread();
            r.run();
        });
    }

    /** Lowers the calling thread's priority to {@link #NICE}; false when it could not. */
    static boolean demoteCurrentThread() {
        Native n = NATIVE;
        if (n == null) {
            return false;
        }
        try {
            return n.setpriority(PRIO_PROCESS, n.gettid(), NICE) == 0;
        } catch (RuntimeException | LinkageError e) {
            return false;
        }
    }
}
