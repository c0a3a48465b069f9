package io.raidd.nbd;

import io.netty.handler.ssl.SslContext;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Everything the server needs, built once, validated once, then immutable. TLS material is loaded
 * and checked by {@link Builder#build()}, so a bad certificate fails at configuration time, not at
 * the first client.
 */
public final class NbdServerConfig {
    public static final int DEFAULT_PORT = 10809;
    public static final String DEFAULT_HOST = "127.0.0.1";
    /** The payload size the Linux kernel client may send (65536 sectors); clients that ask obey it. */
    public static final int DEFAULT_MAX_PAYLOAD_BYTES = 32 * 1024 * 1024;

    /** The memory ceiling on machines large enough for it; see {@link #defaultMaxBufferedBytes()}. */
    public static final long DEFAULT_MAX_BUFFERED_BYTES = 256L * 1024 * 1024;

    public static final long MIN_MAX_BUFFERED_BYTES = 32L * 1024 * 1024;

    /** Like a TCP user timeout: long enough for any client that reads at all. */
    public static final Duration DEFAULT_STALL_TIMEOUT = Duration.ofMinutes(3);

    private final List<SocketAddress> listenAddresses;
    private final TlsMode tlsMode;
    private final SslContext sslContext;
    private final String defaultExportName;
    private final List<NbdExport> exports;
    private final int maxPayloadBytes;
    private final int maxInFlightRequestsPerConnection;
    private final int maxExecutingRequestsPerConnection;
    private final long maxReplyBytesPerConnection;
    private final long maxPayloadBytesPerConnection;
    private final long maxBufferedBytes;
    private final Duration stallTimeout;
    private final int maxConnections;
    private final Duration handshakeTimeout;
    private final Duration shutdownTimeout;
    private final int ioThreads;
    private final int eventLoopThreads;
    private final boolean preferNativeTransport;

    private NbdServerConfig(Builder b, List<SocketAddress> listenAddresses, SslContext sslContext) {
        this.listenAddresses = List.copyOf(listenAddresses);
        this.tlsMode = b.tlsMode;
        this.sslContext = sslContext;
        this.defaultExportName = b.defaultExportName;
        this.exports = List.copyOf(b.exports.values());
        this.maxPayloadBytes = b.maxPayloadBytes;
        this.maxInFlightRequestsPerConnection = b.maxInFlightRequestsPerConnection;
        this.maxExecutingRequestsPerConnection = b.maxExecutingRequestsPerConnection;
        this.maxReplyBytesPerConnection = b.maxReplyBytesPerConnection;
        this.maxPayloadBytesPerConnection = b.maxPayloadBytesPerConnection;
        this.maxBufferedBytes = b.maxBufferedBytes;
        this.stallTimeout = b.stallTimeout;
        this.maxConnections = b.maxConnections;
        this.handshakeTimeout = b.handshakeTimeout;
        this.shutdownTimeout = b.shutdownTimeout;
        this.ioThreads = b.ioThreads;
        this.eventLoopThreads = b.eventLoopThreads;
        this.preferNativeTransport = b.preferNativeTransport;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** TCP ({@link InetSocketAddress}) and unix-socket ({@link UnixDomainSocketAddress}) listeners. */
    public List<SocketAddress> listenAddresses() {
        return listenAddresses;
    }

    public TlsMode tlsMode() {
        return tlsMode;
    }

    /** Present exactly when {@link #tlsMode()} is not OFF. */
    Optional<SslContext> sslContext() {
        return Optional.ofNullable(sslContext);
    }

    /** The export a client gets when it asks for the empty name, if configured. */
    public Optional<String> defaultExportName() {
        return Optional.ofNullable(defaultExportName);
    }

    /** Exports present from start; more can be added at runtime with {@link NbdServer#addExport}. */
    public List<NbdExport> exports() {
        return exports;
    }

    public int maxPayloadBytes() {
        return maxPayloadBytes;
    }

    public int maxInFlightRequestsPerConnection() {
        return maxInFlightRequestsPerConnection;
    }

    public int maxExecutingRequestsPerConnection() {
        return maxExecutingRequestsPerConnection;
    }

    public long maxReplyBytesPerConnection() {
        return maxReplyBytesPerConnection;
    }

    public long maxPayloadBytesPerConnection() {
        return maxPayloadBytesPerConnection;
    }

    /** The ceiling on READ reply and WRITE payload bytes the server holds, over all connections. */
    public long maxBufferedBytes() {
        return maxBufferedBytes;
    }

    /** How long a connection may leave replies unread, or stop sending mid-request, before it is closed. */
    public Duration stallTimeout() {
        return stallTimeout;
    }

    /**
     * The default ceiling, sized for the machine: 256 MiB, but at most a sixteenth of the physical
     * memory and half of what the JVM lets direct buffers take, and at least 32 MiB.
     */
    public static long defaultMaxBufferedBytes() {
        long ceiling = DEFAULT_MAX_BUFFERED_BYTES;
        if (java.lang.management.ManagementFactory.getOperatingSystemMXBean()
                instanceof com.sun.management.OperatingSystemMXBean os) {
            ceiling = Math.min(ceiling, os.getTotalMemorySize() / 16);
        }
        ceiling = Math.min(ceiling, io.netty.util.internal.PlatformDependent.maxDirectMemory() / 2);
        return Math.max(MIN_MAX_BUFFERED_BYTES, ceiling / (1 << 20) * (1 << 20));
    }

    public int maxConnections() {
        return maxConnections;
    }

    public Duration handshakeTimeout() {
        return handshakeTimeout;
    }

    public Duration shutdownTimeout() {
        return shutdownTimeout;
    }

    public int ioThreads() {
        return ioThreads;
    }

    /** 0 means Netty's default (twice the number of cores). */
    public int eventLoopThreads() {
        return eventLoopThreads;
    }

    public boolean preferNativeTransport() {
        return preferNativeTransport;
    }

    public static final class Builder {
        private final List<SocketAddress> listenAddresses = new ArrayList<>();
        private TlsMode tlsMode = TlsMode.OFF;
        private Path tlsCertificateChain;
        private Path tlsPrivateKey;
        private Path tlsClientCertificateAuthority;
        private String defaultExportName;
        private final Map<String, NbdExport> exports = new LinkedHashMap<>();
        private int maxPayloadBytes = DEFAULT_MAX_PAYLOAD_BYTES;
        private int maxInFlightRequestsPerConnection = 128;
        private int maxExecutingRequestsPerConnection = 16;
        private long maxReplyBytesPerConnection = 16L * 1024 * 1024;
        private long maxPayloadBytesPerConnection = 64L * 1024 * 1024;
        private long maxBufferedBytes = defaultMaxBufferedBytes();
        private Duration stallTimeout = DEFAULT_STALL_TIMEOUT;
        private int maxConnections = 4096;
        private Duration handshakeTimeout = Duration.ofSeconds(30);
        private Duration shutdownTimeout = Duration.ofSeconds(30);
        private int ioThreads = 32;
        private int eventLoopThreads;
        private boolean preferNativeTransport = true;

        private Builder() {}

        /** Listen on TCP; port 0 picks an ephemeral port, reported by {@link NbdServer#start()}. */
        public Builder listenTcp(String host, int port) {
            listenAddresses.add(new InetSocketAddress(Objects.requireNonNull(host, "host"), port));
            return this;
        }

        public Builder listenUnix(Path socketPath) {
            listenAddresses.add(UnixDomainSocketAddress.of(Objects.requireNonNull(socketPath, "socketPath")));
            return this;
        }

        public Builder tlsMode(TlsMode tlsMode) {
            this.tlsMode = Objects.requireNonNull(tlsMode, "tlsMode");
            return this;
        }

        /** PEM certificate chain and PEM private key (PKCS#8, "BEGIN PRIVATE KEY"). */
        public Builder tlsCertificate(Path certificateChainPem, Path privateKeyPem) {
            this.tlsCertificateChain = Objects.requireNonNull(certificateChainPem, "certificateChainPem");
            this.tlsPrivateKey = Objects.requireNonNull(privateKeyPem, "privateKeyPem");
            return this;
        }

        /** When set, clients must present a certificate signed by one of these PEM CAs. */
        public Builder tlsClientCertificateAuthority(Path caPem) {
            this.tlsClientCertificateAuthority = Objects.requireNonNull(caPem, "caPem");
            return this;
        }

        public Builder defaultExport(String exportName) {
            this.defaultExportName = Objects.requireNonNull(exportName, "exportName");
            return this;
        }

        public Builder export(NbdExport export) {
            Objects.requireNonNull(export, "export");
            if (exports.putIfAbsent(export.name(), export) != null) {
                throw new IllegalArgumentException("duplicate export " + export.name());
            }
            return this;
        }

        /** Largest READ/WRITE payload; advertised as the maximum block size. */
        public Builder maxPayloadBytes(int maxPayloadBytes) {
            this.maxPayloadBytes = maxPayloadBytes;
            return this;
        }

        public Builder maxInFlightRequestsPerConnection(int n) {
            this.maxInFlightRequestsPerConnection = n;
            return this;
        }

        /**
         * Device calls one connection may have running at once on the shared I/O threads, so that a
         * client with many slow requests cannot take every thread from the others.
         */
        public Builder maxExecutingRequestsPerConnection(int n) {
            this.maxExecutingRequestsPerConnection = n;
            return this;
        }

        /**
         * Bytes of READ data one connection may have produced and not yet sent; READs wait beyond
         * it. Capped further at the connection's fair share of {@link #maxBufferedBytes}.
         */
        public Builder maxReplyBytesPerConnection(long bytes) {
            this.maxReplyBytesPerConnection = bytes;
            return this;
        }

        /**
         * Bytes of WRITE payload one connection may hold (received, not yet written to the device)
         * before reading from it stops. Capped further at its fair share of {@link #maxBufferedBytes},
         * but one piece of a long write always fits.
         */
        public Builder maxPayloadBytesPerConnection(long bytes) {
            this.maxPayloadBytesPerConnection = bytes;
            return this;
        }

        /**
         * The ceiling on READ reply and WRITE payload bytes held over all connections; each busy
         * connection is entitled to an equal share. Default: {@link #defaultMaxBufferedBytes()}.
         */
        public Builder maxBufferedBytes(long bytes) {
            this.maxBufferedBytes = bytes;
            return this;
        }

        /**
         * A connection that leaves replies unread (the socket takes none of them) or stops sending
         * in the middle of a request for this long is closed, and what it held returned.
         */
        public Builder stallTimeout(Duration timeout) {
            this.stallTimeout = Objects.requireNonNull(timeout, "timeout");
            return this;
        }

        public Builder maxConnections(int maxConnections) {
            this.maxConnections = maxConnections;
            return this;
        }

        /** Connections that have not reached the transmission phase by then are dropped. */
        public Builder handshakeTimeout(Duration timeout) {
            this.handshakeTimeout = Objects.requireNonNull(timeout, "timeout");
            return this;
        }

        /** How long {@link NbdServer#close()} lets in-flight requests finish before dropping connections. */
        public Builder shutdownTimeout(Duration timeout) {
            this.shutdownTimeout = Objects.requireNonNull(timeout, "timeout");
            return this;
        }

        /** Threads that call the BlockDevice; device calls may block, so they never run on the event loop. */
        public Builder ioThreads(int ioThreads) {
            this.ioThreads = ioThreads;
            return this;
        }

        public Builder eventLoopThreads(int eventLoopThreads) {
            this.eventLoopThreads = eventLoopThreads;
            return this;
        }

        /** Use epoll when the native library loads (default); otherwise, or when false, NIO serves TCP and unix sockets. */
        public Builder preferNativeTransport(boolean preferNativeTransport) {
            this.preferNativeTransport = preferNativeTransport;
            return this;
        }

        public NbdServerConfig build() {
            List<SocketAddress> listen = listenAddresses.isEmpty()
                    ? List.of(new InetSocketAddress(DEFAULT_HOST, DEFAULT_PORT))
                    : listenAddresses;
            for (SocketAddress address : listen) {
                if (address instanceof InetSocketAddress inet) {
                    if (inet.isUnresolved()) {
                        throw new IllegalArgumentException("cannot resolve listen host " + inet.getHostString());
                    }
                }
            }
            require(
                    maxPayloadBytes >= 1024 * 1024 && maxPayloadBytes <= 1 << 30 && maxPayloadBytes % 65536 == 0,
                    "maxPayloadBytes must be a multiple of 64 KiB in [1 MiB, 1 GiB], was " + maxPayloadBytes);
            require(maxInFlightRequestsPerConnection >= 1, "maxInFlightRequestsPerConnection must be >= 1");
            require(maxExecutingRequestsPerConnection >= 1, "maxExecutingRequestsPerConnection must be >= 1");
            require(
                    maxReplyBytesPerConnection >= CommandExecutor.READ_SLICE_BYTES,
                    "maxReplyBytesPerConnection must be >= " + CommandExecutor.READ_SLICE_BYTES + " (one slice)");
            require(maxPayloadBytesPerConnection >= 1024 * 1024, "maxPayloadBytesPerConnection must be >= 1 MiB");
            require(
                    maxBufferedBytes >= MIN_MAX_BUFFERED_BYTES,
                    "maxBufferedBytes must be >= " + (MIN_MAX_BUFFERED_BYTES >> 20) + " MiB, was " + maxBufferedBytes);
            require(!stallTimeout.isNegative() && !stallTimeout.isZero(), "stallTimeout must be > 0");
            require(maxConnections >= 1, "maxConnections must be >= 1");
            require(!handshakeTimeout.isNegative() && !handshakeTimeout.isZero(), "handshakeTimeout must be > 0");
            require(!shutdownTimeout.isNegative(), "shutdownTimeout must be >= 0");
            require(ioThreads >= 1, "ioThreads must be >= 1");
            require(eventLoopThreads >= 0, "eventLoopThreads must be >= 0");
            SslContext ssl = null;
            if (tlsMode != TlsMode.OFF) {
                require(
                        tlsCertificateChain != null && tlsPrivateKey != null,
                        "TLS mode " + tlsMode + " needs tlsCertificate(chain, key)");
                requireReadable(tlsCertificateChain);
                requireReadable(tlsPrivateKey);
                if (tlsClientCertificateAuthority != null) {
                    requireReadable(tlsClientCertificateAuthority);
                }
                ssl = TlsContexts.server(tlsCertificateChain, tlsPrivateKey, tlsClientCertificateAuthority);
            } else {
                require(tlsClientCertificateAuthority == null, "tlsClientCertificateAuthority needs TLS on");
            }
            return new NbdServerConfig(this, listen, ssl);
        }

        private static void requireReadable(Path file) {
            if (!Files.isReadable(file)) {
                throw new IllegalArgumentException("cannot read " + file);
            }
        }

        private static void require(boolean condition, String message) {
            if (!condition) {
                throw new IllegalArgumentException(message);
            }
        }
    }
}
