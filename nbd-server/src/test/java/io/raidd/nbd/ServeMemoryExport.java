package io.raidd.nbd;

import io.raidd.blockdev.MemoryBlockDevice;
import java.net.SocketAddress;
import java.nio.file.Path;
import java.util.List;

/**
 * Manual and benchmark runs: serves one in-memory export until killed.
 *
 * <p>{@code java -cp ... io.raidd.nbd.ServeMemoryExport <port> <sizeMiB> [unixSocketPath|-] [on|require
 * certDir]}; certDir holds server-cert.pem and server-key.pem.
 */
public final class ServeMemoryExport {
    public static void main(String[] args) throws Exception {
        int port = args.length > 0 ? Integer.parseInt(args[0]) : 10809;
        long sizeBytes = (args.length > 1 ? Long.parseLong(args[1]) : 1024) << 20;
        NbdServerConfig.Builder config = NbdServerConfig.builder()
                .listenTcp("127.0.0.1", port)
                .defaultExport("mem")
                .ioThreads(Integer.getInteger("nbd.ioThreads", 32))
                .maxExecutingRequestsPerConnection(Integer.getInteger("nbd.perConnection", 16))
                .export(NbdExport.builder("mem", new MemoryBlockDevice(sizeBytes))
                        .description("in-memory test export")
                        .fastZero(true)
                        .build());
        if (args.length > 2 && !args[2].equals("-")) {
            config.listenUnix(Path.of(args[2]));
        }
        if (args.length > 4) {
            Path certs = Path.of(args[4]);
            config.tlsMode(TlsMode.valueOf(args[3].toUpperCase(java.util.Locale.ROOT)))
                    .tlsCertificate(certs.resolve("server-cert.pem"), certs.resolve("server-key.pem"));
        }
        try (NbdServer server = new NbdServer(config.build())) {
            List<SocketAddress> bound = server.start();
            System.out.println("listening on " + bound);
            Thread.currentThread().join();
        }
    }

    private ServeMemoryExport() {}
}
