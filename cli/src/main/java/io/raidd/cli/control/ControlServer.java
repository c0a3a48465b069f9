package io.raidd.cli.control;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.BindException;
import java.net.ConnectException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * The daemon's control socket: accepts connections on a unix-domain socket and answers each one's
 * single request ({@link ControlProtocol}) from a {@link ControlService}.
 *
 * <p>Who may connect is decided by the socket file's mode (0600: the daemon's user, and root).
 * Everything a connected client sends is bounded: a request line of at most 64 KiB that must be
 * complete within {@link Options#idleTimeout}, at most {@link Options#maxConnections} connections
 * served at once (the others get an error line and are closed), replies that must be taken within
 * {@link Options#writeTimeout}, and streamed events that a client does not read are dropped for it
 * (counted) instead of holding up whoever emits them.
 *
 * <p>Threads: {@code raidd-control-accept}, and one {@code raidd-control-N} per connection (a
 * {@code wait} adds {@code raidd-control-N-wait} for the blocking call); all daemon threads.
 */
public final class ControlServer implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger("io.raidd.control");

    /** Limits and timeouts; {@link #DEFAULTS} for the daemon, shorter ones in tests. */
    public record Options(
            Duration idleTimeout,
            Duration writeTimeout,
            int maxConnections,
            int eventQueueLines,
            Duration pollInterval) {
        public static final Options DEFAULTS =
                new Options(Duration.ofSeconds(10), Duration.ofSeconds(30), 32, 1024, Duration.ofMillis(250));

        public Options {
            Objects.requireNonNull(idleTimeout);
            Objects.requireNonNull(writeTimeout);
            Objects.requireNonNull(pollInterval);
            if (idleTimeout.isNegative()
                    || idleTimeout.isZero()
                    || writeTimeout.isNegative()
                    || writeTimeout.isZero()) {
                throw new IllegalArgumentException("control socket timeouts must be positive");
            }
            if (maxConnections < 1 || eventQueueLines < 1 || pollInterval.toMillis() < 1) {
                throw new IllegalArgumentException("control socket limits must be positive");
            }
        }

        public Options withIdleTimeout(Duration d) {
            return new Options(d, writeTimeout, maxConnections, eventQueueLines, pollInterval);
        }

        public Options withWriteTimeout(Duration d) {
            return new Options(idleTimeout, d, maxConnections, eventQueueLines, pollInterval);
        }

        public Options withMaxConnections(int n) {
            return new Options(idleTimeout, writeTimeout, n, eventQueueLines, pollInterval);
        }

        public Options withEventQueueLines(int n) {
            return new Options(idleTimeout, writeTimeout, maxConnections, n, pollInterval);
        }
    }

    private static final Set<PosixFilePermission> OWNER_ONLY_DIRECTORY = PosixFilePermissions.fromString("rwx------");
    private static final Set<PosixFilePermission> OWNER_ONLY_SOCKET = PosixFilePermissions.fromString("rw-------");

    /** How long close() waits for connections to end (a service call may not heed interrupts). */
    private static final Duration CLOSE_WAIT = Duration.ofSeconds(2);

    private final Path path;
    private final Options options;
    private final ControlDispatcher dispatcher;
    private final ServerSocketChannel listener;
    private final Object socketFileKey;
    private final Semaphore slots;
    private final Set<ControlConnection> connections = ConcurrentHashMap.newKeySet();
    private final AtomicLong connectionIds = new AtomicLong();
    private final AtomicLong rejected = new AtomicLong();
    private final AtomicLong droppedEvents = new AtomicLong();
    private final Thread acceptor;
    private volatile boolean closed;
    private long lastRejectionLogNs = System.nanoTime() - TimeUnit.MINUTES.toNanos(1);
    private long rejectedSinceLog;

    private ControlServer(Path path, Options options, ControlService service, ServerSocketChannel listener)
            throws IOException {
        this.path = path;
        this.options = options;
        this.dispatcher = new ControlDispatcher(service);
        this.listener = listener;
        this.socketFileKey = fileKey(path);
        this.slots = new Semaphore(options.maxConnections());
        this.acceptor = new Thread(this::acceptLoop, "raidd-control-accept");
        acceptor.setDaemon(true);
    }

    public static ControlServer start(Path path, ControlService service) throws IOException {
        return start(path, service, Options.DEFAULTS);
    }

    /**
     * Binds the socket at {@code path} (creating its directory, owner-only, when it is missing;
     * replacing a stale socket file nothing listens on) and starts serving.
     *
     * @throws IOException "another raidd is listening on PATH", or why the socket cannot be made
     */
    public static ControlServer start(Path path, ControlService service, Options options) throws IOException {
        Objects.requireNonNull(service);
        createMissingDirectories(path.toAbsolutePath().getParent());
        removeStaleSocket(path);
        ServerSocketChannel listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        boolean bound = false;
        try {
            try {
                listener.bind(UnixDomainSocketAddress.of(path), 64);
                bound = true;
            } catch (BindException e) {
                throw new IOException("another raidd is listening on " + path + " (" + e.getMessage() + ")", e);
            } catch (IOException e) {
                // Typically a path longer than a socket address holds (108 bytes on Linux).
                throw new IOException("cannot create the control socket " + path + ": " + e.getMessage(), e);
            }
            // Right after bind: until now the mode came from the umask.
            Files.setPosixFilePermissions(path, OWNER_ONLY_SOCKET);
            ControlServer server = new ControlServer(path, options, service, listener);
            server.acceptor.start();
            LOG.log(Level.INFO, "control socket {0}", path);
            return server;
        } catch (IOException | RuntimeException e) {
            listener.close();
            if (bound) {
                Files.deleteIfExists(path);
            }
            throw e;
        }
    }

    public Path path() {
        return path;
    }

    /** Connections refused because {@link Options#maxConnections} were being served. */
    public long rejectedConnections() {
        return rejected.get();
    }

    /** Events dropped for streaming clients that did not read them fast enough. */
    public long droppedEvents() {
        return droppedEvents.get();
    }

    /** Connections being served now. */
    public int activeConnections() {
        return connections.size();
    }

    Options options() {
        return options;
    }

    ControlDispatcher dispatcher() {
        return dispatcher;
    }

    boolean closing() {
        return closed;
    }

    void countDropped(long events) {
        droppedEvents.addAndGet(events);
    }

    void ended(ControlConnection connection) {
        if (connections.remove(connection)) {
            slots.release();
        }
    }

    private void acceptLoop() {
        while (!closed) {
            SocketChannel channel;
            try {
                channel = listener.accept();
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                if (closed) {
                    return;
                }
                // EMFILE and the like: say so, and do not spin on it.
                LOG.log(Level.WARNING, "control socket: accept failed: {0}", e.getMessage());
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(100));
                continue;
            }
            if (!slots.tryAcquire()) {
                reject(channel);
                continue;
            }
            long id = connectionIds.incrementAndGet();
            ControlConnection connection = new ControlConnection(this, channel, id);
            connections.add(connection);
            try {
                Thread t = new Thread(connection::run, "raidd-control-" + id);
                t.setDaemon(true);
                connection.start(t);
            } catch (RuntimeException | OutOfMemoryError e) {
                LOG.log(Level.WARNING, "control socket: cannot start a connection thread: {0}", e.toString());
                connection.closeQuietly();
                ended(connection);
            }
            if (closed) {
                connection.abort();
            }
        }
    }

    /** Over the cap: one error line (never blocking the acceptor) and close. */
    private void reject(SocketChannel channel) {
        rejected.incrementAndGet();
        try (channel) {
            channel.configureBlocking(false);
            channel.write(ByteBuffer.wrap(ControlProtocol.line(ControlProtocol.error("raidd is serving "
                    + options.maxConnections() + " control connections already; try again shortly"))));
        } catch (IOException e) {
            // The client is gone already; nothing to tell it.
        }
        rejectedSinceLog++;
        long now = System.nanoTime();
        if (now - lastRejectionLogNs >= TimeUnit.MINUTES.toNanos(1)) {
            LOG.log(
                    Level.WARNING,
                    "control socket: {0} connection(s) refused: {1} already being served",
                    Long.toString(rejectedSinceLog),
                    Integer.toString(options.maxConnections()));
            lastRejectionLogNs = now;
            rejectedSinceLog = 0;
        }
    }

    /** Stops accepting, ends every connection (streaming clients are told), removes the socket file. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            listener.close();
        } catch (IOException e) {
            LOG.log(Level.DEBUG, "control socket: close: {0}", e.getMessage());
        }
        joinQuietly(acceptor, CLOSE_WAIT.toNanos());
        for (ControlConnection c : connections) {
            c.abort();
        }
        long deadline = System.nanoTime() + CLOSE_WAIT.toNanos();
        for (ControlConnection c : connections) {
            joinQuietly(c.thread(), deadline - System.nanoTime());
        }
        for (ControlConnection c : connections) {
            LOG.log(
                    Level.WARNING,
                    "control socket: connection {0} did not end in time; closing it",
                    Long.toString(c.id()));
            c.closeQuietly();
        }
        try {
            // Only our own file: another daemon may have replaced it since.
            if (socketFileKey != null && socketFileKey.equals(fileKey(path))) {
                Files.deleteIfExists(path);
            }
        } catch (IOException e) {
            LOG.log(Level.WARNING, "control socket: cannot remove {0}: {1}", path, e.getMessage());
        }
    }

    private static void joinQuietly(Thread t, long timeoutNs) {
        if (t == null || timeoutNs <= 0) {
            return;
        }
        try {
            t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(timeoutNs)));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static Object fileKey(Path path) {
        try {
            return Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS)
                    .fileKey();
        } catch (IOException e) {
            return null;
        }
    }

    /** Creates the missing directories on the way to the socket, owner-only. Existing ones are left as they are. */
    private static void createMissingDirectories(Path dir) throws IOException {
        if (dir == null || Files.isDirectory(dir)) {
            return;
        }
        Deque<Path> missing = new ArrayDeque<>();
        for (Path d = dir; d != null && !Files.exists(d, LinkOption.NOFOLLOW_LINKS); d = d.getParent()) {
            missing.push(d);
        }
        for (Path d : missing) {
            try {
                Files.createDirectory(d, PosixFilePermissions.asFileAttribute(OWNER_ONLY_DIRECTORY));
                // The umask may have taken bits away; never added any, but say exactly what we mean.
                Files.setPosixFilePermissions(d, OWNER_ONLY_DIRECTORY);
            } catch (java.nio.file.FileAlreadyExistsException e) {
                // Created meanwhile by someone else: theirs, left as it is.
            }
        }
    }

    /** A socket file left by a dead daemon is removed; one something answers on is refused. */
    private static void removeStaleSocket(Path path) throws IOException {
        if (!Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        int mode;
        try {
            mode = (Integer) Files.getAttribute(path, "unix:mode", LinkOption.NOFOLLOW_LINKS);
        } catch (UnsupportedOperationException e) {
            throw new IOException("cannot tell whether " + path + " is a socket on this system", e);
        }
        if ((mode & 0170000) != 0140000) {
            throw new IOException(path + " exists and is not a socket; remove it or choose another control path");
        }
        boolean answers;
        try {
            SocketChannel.open(UnixDomainSocketAddress.of(path)).close();
            answers = true;
        } catch (ConnectException e) {
            // Connection refused: nothing listens; the file is a dead daemon's.
            answers = false;
        } catch (IOException e) {
            throw new IOException("cannot use control socket " + path + ": " + e.getMessage(), e);
        }
        if (answers) {
            throw new IOException("another raidd is listening on " + path);
        }
        LOG.log(Level.INFO, "control socket: replacing stale {0} (nothing listens on it)", path);
        Files.deleteIfExists(path);
    }
}
