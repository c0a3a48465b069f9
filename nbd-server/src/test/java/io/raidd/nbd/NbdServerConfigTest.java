package io.raidd.nbd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raidd.blockdev.MemoryBlockDevice;
import java.net.InetSocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NbdServerConfigTest {
    @Test
    void defaultsListenOnLoopbackAt10809() {
        NbdServerConfig c = NbdServerConfig.builder().build();
        assertEquals(List.of(new InetSocketAddress("127.0.0.1", 10809)), c.listenAddresses());
        assertEquals(TlsMode.OFF, c.tlsMode());
        assertTrue(c.sslContext().isEmpty());
        assertEquals(32 << 20, c.maxPayloadBytes());
        assertTrue(c.defaultExportName().isEmpty());
    }

    @Test
    void listenersKeepTheirOrderAndKind(@TempDir Path dir) {
        NbdServerConfig c = NbdServerConfig.builder()
                .listenTcp("127.0.0.1", 0)
                .listenUnix(dir.resolve("s"))
                .build();
        assertEquals(2, c.listenAddresses().size());
        assertTrue(c.listenAddresses().get(1) instanceof UnixDomainSocketAddress);
    }

    @Test
    void invalidValuesAreRejectedOnce() {
        assertThrows(
                IllegalArgumentException.class,
                () -> NbdServerConfig.builder().maxPayloadBytes(1000).build());
        assertThrows(
                IllegalArgumentException.class,
                () -> NbdServerConfig.builder()
                        .maxReplyBytesPerConnection(64 << 10)
                        .build());
        assertThrows(
                IllegalArgumentException.class,
                () -> NbdServerConfig.builder().maxBufferedBytes(1 << 20).build());
        assertThrows(
                IllegalArgumentException.class,
                () -> NbdServerConfig.builder().stallTimeout(Duration.ZERO).build());
        assertThrows(
                IllegalArgumentException.class,
                () -> NbdServerConfig.builder().ioThreads(0).build());
        assertThrows(
                IllegalArgumentException.class,
                () -> NbdServerConfig.builder().handshakeTimeout(Duration.ZERO).build());
        assertThrows(
                IllegalArgumentException.class,
                () -> NbdServerConfig.builder().maxConnections(0).build());
        NbdExport e = NbdExport.builder("a", new MemoryBlockDevice(4096)).build();
        assertThrows(
                IllegalArgumentException.class,
                () -> NbdServerConfig.builder().export(e).export(e));
    }

    @Test
    void tlsNeedsReadableValidPem(@TempDir Path dir) throws Exception {
        assertThrows(
                IllegalArgumentException.class,
                () -> NbdServerConfig.builder().tlsMode(TlsMode.ON).build());
        Path junk = Files.writeString(dir.resolve("junk.pem"), "not a certificate");
        IllegalArgumentException bad = assertThrows(
                IllegalArgumentException.class,
                () -> NbdServerConfig.builder()
                        .tlsMode(TlsMode.REQUIRE)
                        .tlsCertificate(junk, junk)
                        .build());
        assertTrue(bad.getMessage().contains("junk.pem"));
        TestCertificates certs = TestCertificates.create(dir.resolve("certs"));
        NbdServerConfig ok = NbdServerConfig.builder()
                .tlsMode(TlsMode.REQUIRE)
                .tlsCertificate(certs.serverCert, certs.serverKey)
                .tlsClientCertificateAuthority(certs.caCert)
                .build();
        assertTrue(ok.sslContext().isPresent());
        assertTrue(ok.sslContext().get().isServer());
    }
}
