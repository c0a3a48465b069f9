package io.raidd.raid.member;

import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A foreground volume operation that another thread can finish: the only kind allowed to run member
 * I/O on its caller's thread (see {@link IoBatch}), where a hung disk can keep the thread in the
 * kernel for good. When one of its inline I/Os overruns the member timeout, the {@link
 * MemberWatchdog} abandons it: the member is failed, the operation's other member I/O in flight is
 * waited for (bounded), what it holds (stripe locks, the write gate) is released on its behalf, and
 * its rescue runs the whole operation again on a thread of its own, where nothing runs inline and
 * everything waits with a deadline. The stuck thread's own outcome, whenever it comes, is dropped.
 */
public final class Operation {
    private static final System.Logger LOG = System.getLogger("io.raidd.raid");
    private static final ThreadLocal<Operation> CURRENT = new ThreadLocal<>();

    private static final int RUNNING = 0;
    private static final int FINISHED = 1;
    private static final int ABANDONED = 2;

    /** Threads that run rescues; a rescue never runs I/O inline, so none of them can hang. */
    private static final ExecutorService RESCUERS = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "raidd-rescue");
        t.setDaemon(true);
        return t;
    });

    /** Something the operation holds that its rescuer must let go of. */
    public interface Hold {
        void release();
    }

    private final Thread thread;
    private final Runnable rescue;
    private final AtomicInteger state = new AtomicInteger(RUNNING);
    private final List<CompletableFuture<?>> submitted = new ArrayList<>();
    private final List<Hold> holds = new ArrayList<>();

    /**
     * @param rescue runs the operation again, from the start, and delivers its outcome; called on a
     *     rescue thread at most once
     */
    public Operation(Runnable rescue) {
        this.thread = Thread.currentThread();
        this.rescue = rescue;
    }

    /** The operation the calling thread runs, or null (the caller cannot be rescued). */
    public static Operation current() {
        return CURRENT.get();
    }

    /** Runs {@code body} as this operation on the calling thread. */
    public void runHere(Runnable body) {
        Operation outer = CURRENT.get();
        CURRENT.set(this);
        try {
            body.run();
        } finally {
            CURRENT.set(outer);
        }
    }

    /** The thread the operation ran on. */
    public Thread thread() {
        return thread;
    }

    /** Ends the operation on its own thread; false when it was abandoned (its rescue answers). */
    public boolean finish() {
        return state.compareAndSet(RUNNING, FINISHED);
    }

    public boolean abandoned() {
        return state.get() == ABANDONED;
    }

    /** Throws if the operation was abandoned: nothing more may be done for it on this thread. */
    public void checkNotAbandoned() throws AbandonedOperationException {
        if (abandoned()) {
            throw new AbandonedOperationException("operation abandoned after a member timed out; rescued elsewhere");
        }
    }

    /** Records a lock or gate the operation holds; its rescuer releases it if it is abandoned. */
    public synchronized void hold(Hold h) {
        holds.add(h);
    }

    public synchronized void released(Hold h) {
        holds.remove(h);
    }

    /** Records member I/O the operation started on a member's thread. */
    synchronized void submitted(CompletableFuture<?> f) {
        submitted.add(f);
        if (submitted.size() > 64) {
            submitted.removeIf(CompletableFuture::isDone);
        }
    }

    /**
     * Gives up on the operation (its inline I/O on {@code member} overran {@code timeoutNs}) and
     * starts its rescue. Returns false when it had already finished.
     */
    boolean abandon(MemberLifecycle members, Member member, String reason, long timeoutNs) {
        if (!state.compareAndSet(RUNNING, ABANDONED)) {
            return false;
        }
        RESCUERS.execute(() -> {
            try {
                members.fail(member, reason);
            } catch (Exception e) {
                LOG.log(Level.ERROR, "failing {0} after a timeout: {1}", member.name(), e.getMessage());
            }
            List<CompletableFuture<?>> inFlight;
            synchronized (this) {
                inFlight = new ArrayList<>(submitted);
            }
            long deadline = System.nanoTime() + timeoutNs;
            for (CompletableFuture<?> f : inFlight) {
                try {
                    f.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                } catch (Exception e) {
                    // its member is failed by its own timeout or error; nothing of it can land later
                    // on a member that is still in the array
                }
            }
            List<Hold> held;
            synchronized (this) {
                held = new ArrayList<>(holds);
                holds.clear();
            }
            for (int i = held.size() - 1; i >= 0; i--) {
                held.get(i).release();
            }
            LOG.log(
                    Level.WARNING,
                    "an operation on thread {0} is stuck in I/O on {1}; answering it from the other members",
                    thread.getName(),
                    member.name());
            rescue.run();
        });
        return true;
    }
}
