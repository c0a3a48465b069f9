package io.raidd.nbd;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.handler.flush.FlushConsolidationHandler;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An NBD server: listens on the configured TCP and unix sockets and serves the registered exports.
 *
 * <pre>{@code
 * try (NbdServer server = new NbdServer(config)) {
 *     List<SocketAddress> bound = server.start();
 *     server.addExport(NbdExport.builder("vol0", volume).build());
 *     ...
 * }
 * }</pre>
 *
 * Exports may be added and removed while clients are connected. {@link #close()} stops accepting,
 * lets in-flight requests finish (bounded by the shutdown timeout) and closes every connection;
 * the devices stay open, they belong to the caller.
 */
public final class NbdServer implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(NbdServer.class.getName());

    private static final int ACCEPT_BACKLOG = 4096;
    /** Larger socket reads for large WRITE payloads; the adaptive allocator shrinks for small ones. */
    private static final int MAX_SOCKET_READ_BYTES = 1024 * 1024;
    /**
     * Socket reads one connection gets each time its event loop comes round: a client streaming
     * payload must not keep the loop from the other connections on it for more than one read.
     */
    private static final int MAX_SOCKET_READS_PER_TURN = 1;

    private final NbdServerConfig config;
    private final ExportRegistry registry;
    private final AtomicInteger connections = new AtomicInteger();
    private final ChannelGroup channels = new DefaultChannelGroup("nbd", GlobalEventExecutor.INSTANCE);
    private final List<Channel> serverChannels = new ArrayList<>();
    private final List<Path> unixSocketPaths = new ArrayList<>();

    private Transport transport;
    private ThreadPoolExecutor ioExecutor;
    private ServerContext context;
    private boolean started;
    private boolean closed;

    public NbdServer(NbdServerConfig config) {
        this.config = config;
        this.registry = new ExportRegistry(config.defaultExportName().orElse(null));
        for (NbdExport export : config.exports()) {
            registry.add(export);
        }
    }

    public NbdServerConfig config() {
        return config;
    }

    /**
     * Binds every listener and returns the bound addresses in configuration order: TCP listeners
     * as {@link InetSocketAddress} with the actual port, unix listeners as {@link
     * UnixDomainSocketAddress}.
     */
    public synchronized List<SocketAddress> start() throws IOException {
        if (started || closed) {
            throw new IllegalStateException(closed ? "server closed" : "server already started");
        }
        started = true;
        ioExecutor = new ThreadPoolExecutor(
                config.ioThreads(),
                config.ioThreads(),
                60,
                TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(),
                BulkThreads.factory("nbd-io"));
        ioExecutor.allowCoreThreadTimeOut(true);
        context = new ServerContext(config, registry, ioExecutor);
        transport = Transport.create(config.preferNativeTransport(), config.eventLoopThreads());
        List<SocketAddress> bound = new ArrayList<>();
        try {
            for (SocketAddress address : config.listenAddresses()) {
                bound.add(bind(address));
            }
        } catch (IOException | RuntimeException e) {
            close();
            throw e;
        }
        LOG.log(
                System.Logger.Level.INFO,
                () -> "NBD server listening on " + bound + " (" + (transport.isNative() ? "epoll" : "nio") + ", TLS "
                        + config.tlsMode() + "); " + limits());
        return bound;
    }

    private SocketAddress bind(SocketAddress address) throws IOException {
        boolean unix = address instanceof UnixDomainSocketAddress;
        if (unix) {
            prepareUnixSocketPath(((UnixDomainSocketAddress) address).getPath());
        }
        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(transport.acceptGroup, transport.ioGroup)
                .channel(transport.serverChannelFor(address))
                .option(ChannelOption.SO_BACKLOG, ACCEPT_BACKLOG)
                .childOption(
                        ChannelOption.RECVBUF_ALLOCATOR,
                        new AdaptiveRecvByteBufAllocator(64, 64 * 1024, MAX_SOCKET_READ_BYTES)
                                .maxMessagesPerRead(MAX_SOCKET_READS_PER_TURN))
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        initConnection(ch);
                    }
                });
        if (!unix) {
            bootstrap
                    .option(ChannelOption.SO_REUSEADDR, true)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childOption(ChannelOption.SO_KEEPALIVE, true);
        }
        ChannelFuture future = bootstrap.bind(transport.bindAddressFor(address)).awaitUninterruptibly();
        if (!future.isSuccess()) {
            throw new IOException(
                    "cannot listen on " + address + ": " + future.cause().getMessage(), future.cause());
        }
        Channel channel = future.channel();
        synchronized (this) {
            serverChannels.add(channel);
        }
        if (unix) {
            unixSocketPaths.add(((UnixDomainSocketAddress) address).getPath());
            return address;
        }
        return channel.localAddress();
    }

    /** A socket file left by a crashed server is replaced; one with a live listener is not. */
    private static void prepareUnixSocketPath(Path path) throws IOException {
        if (!Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        BasicFileAttributes attributes =
                Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        if (!attributes.isOther()) {
            throw new IOException(path + " exists and is not a socket");
        }
        try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            probe.connect(UnixDomainSocketAddress.of(path));
            throw new IOException(path + " is in use by another server");
        } catch (ConnectException stale) {
            Files.deleteIfExists(path);
        }
    }

    private void initConnection(Channel ch) {
        if (context.shuttingDown()) {
            ch.close();
            return;
        }
        if (connections.incrementAndGet() > config.maxConnections()) {
            connections.decrementAndGet();
            LOG.log(System.Logger.Level.DEBUG, () -> "connection limit reached, refusing " + ch.remoteAddress());
            ch.close();
            return;
        }
        ch.closeFuture().addListener(f -> connections.decrementAndGet());
        channels.add(ch);
        ch.config()
                .setRecvByteBufAllocator(
                        new BudgetedReads(ch.config().getRecvByteBufAllocator(), ch, context.dataBuffers));
        ch.pipeline()
                // Replies complete on I/O threads one by one; coalescing their flushes saves a
                // syscall per reply under load.
                .addLast("flush", new FlushConsolidationHandler(256, true))
                .addLast("nbd-negotiation", new NbdNegotiationHandler(context));
    }

    /** Publishes an export; clients can select it from their next option on. */
    public void addExport(NbdExport export) {
        registry.add(export);
    }

    /**
     * Unpublishes an export at once and drains its sessions: their in-flight requests finish and
     * are answered, then their connections close. The future completes when the last one has
     * closed; only then may the caller close the device.
     */
    public CompletableFuture<Void> removeExport(String name) {
        return registry.remove(name);
    }

    public Optional<NbdExport> export(String name) {
        return Optional.ofNullable(registry.get(name)).map(e -> e.export);
    }

    public List<NbdExport> exports() {
        return registry.list().stream().map(e -> e.export).toList();
    }

    /** Live counters of an export, if it is registered. */
    public Optional<NbdExportStats> stats(String exportName) {
        return Optional.ofNullable(registry.get(exportName)).map(e -> e.stats);
    }

    /** The memory limits, as the start-up line shows them. */
    public String limits() {
        return "client data buffered up to " + Sizes.format(config.maxBufferedBytes())
                + " in all, per connection up to "
                + config.maxInFlightRequestsPerConnection() + " requests, "
                + Sizes.format(config.maxReplyBytesPerConnection()) + " of replies and "
                + Sizes.format(config.maxPayloadBytesPerConnection())
                + " of write payload (at most an equal share of three quarters of the whole each, the last quarter"
                + " kept for connections holding nothing); stalled connections closed after "
                + config.stallTimeout().toSeconds() + " s";
    }

    /** Bytes of READ replies and WRITE payloads held across all connections (for tests and metrics). */
    public long bufferedBytes() {
        ServerContext c = context;
        return c == null ? 0 : c.bufferBudget.usedBytes();
    }

    /** Connections with requests in flight, among which the buffer ceiling is shared. */
    public int busyConnections() {
        ServerContext c = context;
        return c == null ? 0 : c.bufferBudget.activeConnections();
    }

    /** Open client connections, negotiating or transmitting. */
    public int connectionCount() {
        return connections.get();
    }

    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            if (!started) {
                return;
            }
        }
        if (context != null) {
            context.beginShutdown();
        }
        for (Channel channel : serverChannels) {
            channel.close().awaitUninterruptibly();
        }
        long deadlineNs = System.nanoTime() + config.shutdownTimeout().toNanos();
        List<Channel> draining = new ArrayList<>();
        for (ExportEntry entry : registry.list()) {
            for (NbdTransmissionHandler session : entry.sessions()) {
                session.shutdown();
                draining.add(session.channel());
            }
        }
        // Connections still negotiating have no request to finish: they go now, or a client that
        // connected just before the listener closed would hold the shutdown until its handshake timeout.
        for (Channel channel : channels) {
            if (!draining.contains(channel)) {
                channel.close();
            }
        }
        for (Channel channel : draining) {
            long leftNs = deadlineNs - System.nanoTime();
            if (leftNs <= 0 || !channel.closeFuture().awaitUninterruptibly(leftNs, TimeUnit.NANOSECONDS)) {
                break;
            }
        }
        channels.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        if (ioExecutor != null) {
            ioExecutor.shutdown();
            try {
                long endNs = System.nanoTime() + Math.max(deadlineNs - System.nanoTime(), TimeUnit.SECONDS.toNanos(1));
                // Threads stuck in a hung disk, whose requests the device answered from elsewhere,
                // are not waited for: they may never come back.
                while (!ioExecutor.awaitTermination(10, TimeUnit.MILLISECONDS)) {
                    if (ioExecutor.getActiveCount() <= context.stuckWorkers()) {
                        LOG.log(
                                System.Logger.Level.WARNING,
                                "leaving " + context.stuckWorkers() + " I/O threads stuck in a hung member");
                        break;
                    }
                    if (System.nanoTime() - endNs > 0) {
                        LOG.log(System.Logger.Level.WARNING, "device calls still running at shutdown");
                        ioExecutor.shutdownNow();
                        break;
                    }
                }
            } catch (InterruptedException e) {
                ioExecutor.shutdownNow();
                Thread.currentThread().interrupt();
            }
        }
        if (transport != null) {
            transport.close();
        }
        for (Path path : unixSocketPaths) {
            try {
                Files.deleteIfExists(path);
            } catch (IOException e) {
                LOG.log(System.Logger.Level.WARNING, "cannot remove socket " + path, e);
            }
        }
    }
}
