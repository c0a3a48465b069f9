package io.raidd.nbd;

import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.nio.file.Path;
import javax.net.ssl.SSLException;

/** Builds the server's TLS context from PEM files. */
final class TlsContexts {
    /** The protocol requires TLS 1.2 and recommends later versions; older ones stay disabled. */
    private static final String[] PROTOCOLS = {"TLSv1.3", "TLSv1.2"};

    static SslContext server(Path certificateChain, Path privateKey, Path clientCertificateAuthority) {
        try {
            SslContextBuilder builder = SslContextBuilder.forServer(certificateChain.toFile(), privateKey.toFile())
                    .sslProvider(SslProvider.JDK)
                    .protocols(PROTOCOLS);
            if (clientCertificateAuthority != null) {
                builder.trustManager(clientCertificateAuthority.toFile()).clientAuth(ClientAuth.REQUIRE);
            }
            return builder.build();
        } catch (SSLException | IllegalArgumentException e) {
            throw new IllegalArgumentException(
                    "cannot load TLS certificate " + certificateChain + " / key " + privateKey + ": " + e.getMessage(),
                    e);
        }
    }

    private TlsContexts() {}
}
