package io.raidd.cli.control;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.raidd.raid.event.ArrayEvent;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import jdk.net.ExtendedSocketOptions;
import jdk.net.UnixDomainPrincipal;

/**
 * One control connection: read one request line, answer it, close. The channel is non-blocking
 * and waited on through its own selector, so every wait has a deadline (the idle timeout while the
 * request arrives, the write timeout while a reply is taken) without a timer thread.
 */
final class ControlConnection {
    private static final System.Logger LOG = System.getLogger("io.raidd.control");

    /** Lines a {@code wait} keeps for a client that reads slowly; later progress replaces nothing. */
    private static final int PROGRESS_QUEUE_LINES = 16;

    /** The client did not take a reply within the write timeout. */
    private static final class StalledException extends IOException {
        StalledException(Duration timeout) {
            super("the client did not read for " + timeout.toSeconds() + " s");
        }
    }

    /** The server is closing (this thread was interrupted). */
    private static final class AbortedException extends IOException {
        AbortedException() {
            super("raidd is shutting down");
        }
    }

    private final ControlServer server;
    private final SocketChannel channel;
    private final long id;
    private final ByteBuffer scratch = ByteBuffer.allocate(512);
    private volatile Thread thread;
    private volatile Thread waitThread;
    private Selector selector;
    private SelectionKey key;
    private String peer = "unknown peer";

    ControlConnection(ControlServer server, SocketChannel channel, long id) {
        this.server = server;
        this.channel = channel;
        this.id = id;
    }

    long id() {
        return id;
    }

    Thread thread() {
        return thread;
    }

    void start(Thread t) {
        thread = t;
        t.start();
    }

    /** Ends the connection from outside (server close): wakes whatever it waits on. */
    void abort() {
        Thread w = waitThread;
        if (w != null) {
            w.interrupt();
        }
        Thread t = thread;
        if (t != null) {
            t.interrupt();
        }
    }

    void run() {
        try {
            peer = describePeer(channel);
            channel.configureBlocking(false);
            selector = Selector.open();
            key = channel.register(selector, 0);
            byte[] line = readRequest();
            if (line == null) {
                return;
            }
            ControlRequest request;
            try {
                request = ControlProtocol.decode(line);
            } catch (ControlException e) {
                LOG.log(Level.DEBUG, "control: {0}: bad request: {1}", peer, e.getMessage());
                reply(ControlProtocol.error(e.getMessage()));
                return;
            }
            if (request instanceof ControlRequest.Monitor) {
                monitor();
            } else if (request instanceof ControlRequest.Wait w) {
                await(w);
            } else {
                reply(server.dispatcher().execute(request, peer));
            }
        } catch (StalledException e) {
            LOG.log(Level.WARNING, "control: {0}: {1}; closed the connection", peer, e.getMessage());
        } catch (AbortedException | InterruptedException e) {
            sayShuttingDown();
        } catch (ClosedChannelException e) {
            if (server.closing()) {
                sayShuttingDown();
            }
        } catch (IOException e) {
            LOG.log(Level.DEBUG, "control: {0}: connection ended: {1}", peer, e.getMessage());
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "control: " + peer + ": unexpected error", e);
        } finally {
            closeQuietly();
            server.ended(this);
        }
    }

    /** The request line, or null when the connection ended without one (the client was told why where it can be). */
    private byte[] readRequest() throws IOException {
        LineBuffer in = new LineBuffer(ControlProtocol.MAX_REQUEST_BYTES);
        Duration idle = server.options().idleTimeout();
        long deadline = System.nanoTime() + idle.toNanos();
        try {
            while (true) {
                byte[] line = in.nextLine();
                if (line != null) {
                    return line;
                }
                int n = in.readFrom(channel);
                if (n < 0) {
                    if (in.hasPartialLine()) {
                        LOG.log(Level.DEBUG, "control: {0}: disconnected in the middle of a request", peer);
                    }
                    return null;
                }
                if (n == 0 && !waitFor(SelectionKey.OP_READ, deadline)) {
                    LOG.log(Level.DEBUG, "control: {0}: no request within {1}", peer, idle);
                    reply(ControlProtocol.error("no complete request line within " + seconds(idle) + "; closing"));
                    return null;
                }
            }
        } catch (LineBuffer.LineTooLongException e) {
            LOG.log(Level.DEBUG, "control: {0}: request line too long", peer);
            reply(ControlProtocol.error(
                    "request line longer than " + ControlProtocol.MAX_REQUEST_BYTES + " bytes; closing"));
            return null;
        }
    }

    private void monitor() throws IOException, InterruptedException {
        Outbox outbox = new Outbox(server.options().eventQueueLines());
        AutoCloseable subscription;
        try {
            subscription = server.dispatcher().service().subscribe(outbox::offer);
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "control: " + peer + ": monitor: subscribing failed", e);
            reply(ControlProtocol.error("raidd cannot deliver events now (" + e + "); see raidd's log"));
            return;
        }
        try {
            LOG.log(Level.DEBUG, "control: {0}: monitor", peer);
            reply(ControlProtocol.subscribed());
            long reported = 0;
            while (true) {
                Object item = outbox.poll(server.options().pollInterval());
                long dropped = outbox.dropped();
                if (dropped > reported) {
                    if (reported == 0) {
                        LOG.log(
                                Level.WARNING,
                                "control: {0}: monitor client is not keeping up; dropping the events it cannot take",
                                peer);
                    }
                    reply(ControlProtocol.dropped(dropped - reported));
                    reported = dropped;
                }
                if (item instanceof ArrayEvent e) {
                    reply(ControlProtocol.event(e));
                }
                if (peerClosed()) {
                    return;
                }
            }
        } finally {
            try {
                if (subscription != null) {
                    subscription.close();
                }
            } catch (Exception e) {
                LOG.log(Level.WARNING, "control: {0}: unsubscribing failed: {1}", peer, e.toString());
            }
            long dropped = outbox.dropped();
            if (dropped > 0) {
                server.countDropped(dropped);
                LOG.log(
                        Level.WARNING,
                        "control: {0}: monitor ended; {1} event(s) were dropped for it",
                        peer,
                        Long.toString(dropped));
            }
        }
    }

    private void await(ControlRequest.Wait request) throws IOException, InterruptedException {
        Outbox outbox = new Outbox(PROGRESS_QUEUE_LINES);
        AtomicReference<ObjectNode> result = new AtomicReference<>();
        ObjectNode cancelled = ControlProtocol.error("cancelled");
        Thread t = new Thread(
                () -> {
                    ObjectNode r;
                    try {
                        r = server.dispatcher().await(request, peer, outbox::offer);
                    } catch (InterruptedException e) {
                        r = cancelled;
                    }
                    result.set(r);
                    outbox.offer(Outbox.WAKE);
                },
                "raidd-control-" + id + "-wait");
        t.setDaemon(true);
        waitThread = t;
        t.start();
        try {
            while (true) {
                Object item = outbox.poll(server.options().pollInterval());
                if (item instanceof VolumeStatus s) {
                    reply(ControlProtocol.progress(s));
                }
                ObjectNode r = result.get();
                if (r != null && outbox.isEmpty()) {
                    if (r == cancelled) {
                        if (server.closing()) {
                            throw new AbortedException();
                        }
                        r = ControlProtocol.error("the wait was interrupted inside raidd");
                    }
                    reply(r);
                    return;
                }
                if (peerClosed()) {
                    LOG.log(Level.DEBUG, "control: {0}: left before the wait ended", peer);
                    return;
                }
            }
        } finally {
            if (result.get() == null) {
                t.interrupt();
            }
        }
    }

    /** Writes one line, waiting at most the write timeout for the client to take it. */
    private void reply(JsonNode line) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(ControlProtocol.line(line));
        long deadline = System.nanoTime() + server.options().writeTimeout().toNanos();
        while (b.hasRemaining()) {
            int n = channel.write(b);
            if (n == 0 && !waitFor(SelectionKey.OP_WRITE, deadline)) {
                throw new StalledException(server.options().writeTimeout());
            }
        }
    }

    /**
     * Whether the client closed its end (or shut down its sending side: a streaming client keeps it
     * open while it wants the stream). Anything it sends after the request is read and ignored.
     */
    private boolean peerClosed() throws IOException {
        scratch.clear();
        return channel.read(scratch) < 0;
    }

    /** Waits until the channel may be ready for {@code ops}; false once the deadline has passed. */
    private boolean waitFor(int ops, long deadlineNs) throws IOException {
        long remainingNs = deadlineNs - System.nanoTime();
        if (remainingNs <= 0) {
            return false;
        }
        key.interestOps(ops);
        selector.select(Math.max(1, TimeUnit.NANOSECONDS.toMillis(remainingNs + 999_999)));
        selector.selectedKeys().clear();
        if (Thread.currentThread().isInterrupted()) {
            throw new AbortedException();
        }
        return true;
    }

    /** Tells a client the daemon is stopping, if that can be done at once; never waits. */
    private void sayShuttingDown() {
        if (!server.closing()) {
            return;
        }
        // A channel operation with the interrupt flag set would close the channel instead.
        Thread.interrupted();
        try {
            if (channel.isOpen()) {
                channel.write(ByteBuffer.wrap(ControlProtocol.line(ControlProtocol.error("raidd is shutting down"))));
            }
        } catch (IOException e) {
            // Gone already.
        }
    }

    void closeQuietly() {
        try {
            channel.close();
        } catch (IOException e) {
            // Nothing more to do with it.
        }
        Selector s = selector;
        if (s != null) {
            try {
                s.close();
            } catch (IOException e) {
                // Nothing more to do with it.
            }
        }
    }

    private static String describePeer(SocketChannel channel) {
        try {
            UnixDomainPrincipal p = channel.getOption(ExtendedSocketOptions.SO_PEERCRED);
            // The JDK gives the user's name, or the numeric uid when it has none.
            String user = p.user().getName();
            return user.chars().allMatch(Character::isDigit) ? "uid " + user : "user " + user;
        } catch (IOException | RuntimeException e) {
            return "unknown peer";
        }
    }

    private static String seconds(Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
    }

    /**
     * What a streaming connection has to send: bounded, and {@link #offer} never blocks (it runs on
     * the thread that emits the event); what does not fit is dropped and counted.
     */
    static final class Outbox {
        static final Object WAKE = new Object();

        private final BlockingQueue<Object> queue;
        private final AtomicLong dropped = new AtomicLong();

        Outbox(int capacity) {
            queue = new ArrayBlockingQueue<>(capacity);
        }

        void offer(Object item) {
            if (!queue.offer(item) && item != WAKE) {
                dropped.incrementAndGet();
            }
        }

        Object poll(Duration timeout) throws InterruptedException {
            return queue.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
        }

        boolean isEmpty() {
            return queue.isEmpty();
        }

        long dropped() {
            return dropped.get();
        }
    }
}
