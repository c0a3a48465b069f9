package io.raidd.cli.daemon;

import io.raidd.raid.event.ArrayEvent;
import io.raidd.raid.event.EventSink;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * Where the daemon's events go: each is logged once ({@code io.raidd.daemon}; WARNING for
 * {@link io.raidd.raid.event.EventType#alarm() alarms}, INFO otherwise), handed to every subscriber
 * ({@code raidctl monitor} connections) and queued for the {@code --event-program}.
 *
 * <p>{@link #emit} is called from the arrays' own threads, some of them holding locks, so it never
 * blocks on anyone and never throws: subscribers must not block (the control server's queue each
 * event without waiting and drop what a slow client cannot take), a subscriber that throws is
 * reported and kept, and the program runs on its own thread behind a bounded queue.
 */
public final class EventHub implements EventSink, AutoCloseable {
    private static final System.Logger LOG = System.getLogger("io.raidd.daemon");

    /** How long one run of the event program may take. */
    public static final Duration DEFAULT_PROGRAM_TIMEOUT = Duration.ofSeconds(30);

    /** Events waiting for the program; beyond that they are skipped (and counted). */
    public static final int DEFAULT_PROGRAM_QUEUE = 256;

    private final CopyOnWriteArrayList<Consumer<ArrayEvent>> subscribers = new CopyOnWriteArrayList<>();
    private final EventProgram program;
    private final AtomicLong emitted = new AtomicLong();
    private final AtomicLong subscriberFailures = new AtomicLong();

    /** A hub without an event program. */
    public EventHub() {
        this(null, DEFAULT_PROGRAM_TIMEOUT, DEFAULT_PROGRAM_QUEUE);
    }

    /** A hub that runs {@code eventProgram} (null: none) for each event. */
    public EventHub(String eventProgram) {
        this(eventProgram, DEFAULT_PROGRAM_TIMEOUT, DEFAULT_PROGRAM_QUEUE);
    }

    public EventHub(String eventProgram, Duration programTimeout, int programQueue) {
        this.program = eventProgram == null
                ? null
                : new EventProgram(
                        eventProgram,
                        programTimeout,
                        programQueue,
                        EventProgram.Output.REPORT,
                        "raidd-event-program",
                        line -> LOG.log(Level.INFO, line),
                        line -> LOG.log(Level.WARNING, line));
    }

    @Override
    public void emit(ArrayEvent event) {
        try {
            if (event == null) {
                return;
            }
            emitted.incrementAndGet();
            LOG.log(event.type().alarm() ? Level.WARNING : Level.INFO, "event: {0}", event);
            for (Consumer<ArrayEvent> s : subscribers) {
                try {
                    s.accept(event);
                } catch (RuntimeException | Error e) {
                    long n = subscriberFailures.incrementAndGet();
                    if (Long.bitCount(n) == 1) {
                        LOG.log(Level.WARNING, "event subscriber failed on " + event + " (" + n + " failure(s))", e);
                    }
                }
            }
            if (program != null) {
                program.offer(event);
            }
        } catch (Throwable t) {
            // Whoever emits is in the middle of I/O or a state change; it must never see our trouble.
            try {
                LOG.log(Level.WARNING, "event fan-out failed", t);
            } catch (Throwable ignored) {
                // Not even the log works; nothing more to try.
            }
        }
    }

    /**
     * Delivers every event from now on to {@code listener} (on the emitting thread: it must not
     * block) until the returned handle is closed.
     */
    public AutoCloseable subscribe(Consumer<ArrayEvent> listener) {
        Objects.requireNonNull(listener);
        // A wrapper per subscription: the same listener subscribed twice is two subscriptions.
        Consumer<ArrayEvent> subscription = listener::accept;
        subscribers.add(subscription);
        return () -> subscribers.remove(subscription);
    }

    /** Subscriptions open now. */
    public int subscribers() {
        return subscribers.size();
    }

    public long emitted() {
        return emitted.get();
    }

    /** The event program runner, or null when there is none (tests and metrics). */
    public EventProgram program() {
        return program;
    }

    /** Stops the event program (the run in progress may finish; queued ones are dropped). */
    @Override
    public void close() {
        if (program != null) {
            program.close();
        }
    }
}
