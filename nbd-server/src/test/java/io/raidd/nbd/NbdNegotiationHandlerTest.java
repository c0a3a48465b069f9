package io.raidd.nbd;

import static io.raidd.nbd.EmbeddedNbd.utf8;
import static io.raidd.nbd.OptionDescriptor.INFO_BLOCK_SIZE;
import static io.raidd.nbd.OptionDescriptor.INFO_DESCRIPTION;
import static io.raidd.nbd.OptionDescriptor.INFO_NAME;
import static io.raidd.nbd.OptionDescriptor.OPT_ABORT;
import static io.raidd.nbd.OptionDescriptor.OPT_EXPORT_NAME;
import static io.raidd.nbd.OptionDescriptor.OPT_GO;
import static io.raidd.nbd.OptionDescriptor.OPT_INFO;
import static io.raidd.nbd.OptionDescriptor.OPT_LIST;
import static io.raidd.nbd.OptionDescriptor.OPT_LIST_META_CONTEXT;
import static io.raidd.nbd.OptionDescriptor.OPT_SET_META_CONTEXT;
import static io.raidd.nbd.OptionDescriptor.OPT_STARTTLS;
import static io.raidd.nbd.OptionDescriptor.OPT_STRUCTURED_REPLY;
import static io.raidd.nbd.OptionDescriptor.REP_ACK;
import static io.raidd.nbd.OptionDescriptor.REP_ERR_INVALID;
import static io.raidd.nbd.OptionDescriptor.REP_ERR_POLICY;
import static io.raidd.nbd.OptionDescriptor.REP_ERR_SHUTDOWN;
import static io.raidd.nbd.OptionDescriptor.REP_ERR_TLS_REQD;
import static io.raidd.nbd.OptionDescriptor.REP_ERR_TOO_BIG;
import static io.raidd.nbd.OptionDescriptor.REP_ERR_UNKNOWN;
import static io.raidd.nbd.OptionDescriptor.REP_ERR_UNSUP;
import static io.raidd.nbd.OptionDescriptor.REP_META_CONTEXT;
import static io.raidd.nbd.OptionDescriptor.REP_SERVER;
import static io.raidd.nbd.TransmissionFlags.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.flush.FlushConsolidationHandler;
import io.netty.handler.ssl.SslHandler;
import io.raidd.blockdev.MemoryBlockDevice;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** Option haggling through an EmbeddedChannel: every option, every refusal, every disconnect. */
@ExtendWith(LeakCheck.class)
class NbdNegotiationHandlerTest {
    private static final int CLIENT_FLAGS =
            HandshakeDescriptor.CLIENT_FLAG_FIXED_NEWSTYLE | HandshakeDescriptor.CLIENT_FLAG_NO_ZEROES;

    @Test
    void greetingAdvertisesFixedNewstyleAndNoZeroes() {
        try (EmbeddedNbd nbd = new EmbeddedNbd()) {
            nbd.expectGreeting();
            assertTrue(nbd.isOpen());
        }
    }

    @Test
    void unknownClientFlagsDropTheConnection() {
        for (int flags : new int[] {1 << 2, 0x8000_0000, 0xffff_ffff}) {
            try (EmbeddedNbd nbd = new EmbeddedNbd()) {
                nbd.expectGreeting();
                nbd.sendInt(flags);
                assertFalse(nbd.isOpen(), "flags 0x" + Integer.toHexString(flags));
            }
        }
    }

    @Test
    void clientFlagsMayArriveOneByteAtATime() {
        try (EmbeddedNbd nbd = new EmbeddedNbd()) {
            nbd.expectGreeting();
            for (byte b : new byte[] {0, 0, 0, CLIENT_FLAGS}) {
                nbd.send(new byte[] {b});
            }
            assertEquals(3, nbd.option(OPT_LIST, new byte[0]).size());
        }
    }

    @Test
    void badOptionMagicDropsTheConnection() {
        try (EmbeddedNbd nbd = new EmbeddedNbd().handshake()) {
            nbd.send(Unpooled.buffer().writeLong(0x1234).writeInt(OPT_LIST).writeInt(0));
            assertFalse(nbd.isOpen());
        }
    }

    @Test
    void unknownOptionsGetUnsupAndTheNextOptionStillParses() {
        try (EmbeddedNbd nbd = new EmbeddedNbd().handshake()) {
            for (int option : new int[] {4, 11, 99, 0x7fffffff, 0xffffffff}) {
                RawNbdClient.OptionReply r = nbd.optionExpectingOne(option, new byte[] {1, 2, 3, 4, 5, 6, 7});
                assertEquals(REP_ERR_UNSUP, r.type());
                assertEquals(option, r.option());
            }
            assertEquals(
                    REP_ACK,
                    nbd.optionExpectingOne(OPT_STRUCTURED_REPLY, new byte[0]).type());
        }
    }

    @Test
    void listSendsEveryExportWithDescriptionThenAck() {
        try (EmbeddedNbd nbd = new EmbeddedNbd().handshake()) {
            List<RawNbdClient.OptionReply> replies = nbd.option(OPT_LIST, new byte[0]);
            assertEquals(3, replies.size());
            assertEquals(REP_SERVER, replies.get(0).type());
            ByteBuffer mem = ByteBuffer.wrap(replies.get(0).data());
            assertEquals(3, mem.getInt());
            assertEquals("memmemory", replies.get(0).text().substring(4));
            assertEquals(REP_SERVER, replies.get(1).type());
            assertEquals("ro", replies.get(1).text().substring(4));
            assertEquals(REP_ACK, replies.get(2).type());
        }
    }

    @Test
    void optionsThatTakeNoDataRefuseDataButKeepParsing() {
        try (EmbeddedNbd nbd = new EmbeddedNbd().handshake()) {
            assertEquals(
                    REP_ERR_INVALID,
                    nbd.optionExpectingOne(OPT_LIST, new byte[] {1}).type());
            assertEquals(
                    REP_ERR_INVALID,
                    nbd.optionExpectingOne(OPT_STRUCTURED_REPLY, new byte[] {1}).type());
            // TLS is off here: POLICY is the documented answer whatever the data.
            assertEquals(
                    REP_ERR_POLICY,
                    nbd.optionExpectingOne(OPT_STARTTLS, new byte[0]).type());
            assertEquals(3, nbd.option(OPT_LIST, new byte[0]).size());
            // ABORT ignores data, acknowledges and closes.
            assertEquals(
                    REP_ACK,
                    nbd.optionExpectingOne(OPT_ABORT, new byte[] {9, 9}).type());
            assertFalse(nbd.isOpen());
        }
    }

    @Test
    void truncatedOptionWaitsForTheRestWithoutReplying() {
        try (EmbeddedNbd nbd = new EmbeddedNbd().handshake()) {
            byte[] data = RawNbdClient.infoData("mem", INFO_NAME);
            nbd.send(Unpooled.buffer()
                    .writeLong(HandshakeDescriptor.IHAVEOPT)
                    .writeInt(OPT_INFO)
                    .writeInt(data.length));
            nbd.send(java.util.Arrays.copyOf(data, 5));
            assertFalse(nbd.output().isReadable(), "no reply before the option is complete");
            nbd.send(java.util.Arrays.copyOfRange(data, 5, data.length));
            List<RawNbdClient.OptionReply> replies = nbd.readFinalReplies();
            assertEquals(REP_ACK, replies.get(replies.size() - 1).type());
            assertEquals("mem", RawNbdClient.parseInfo(replies).name());
        }
    }

    @Test
    void hugeOptionIsSkippedAsItArrivesThenRefused() {
        try (EmbeddedNbd nbd = new EmbeddedNbd().handshake()) {
            long length = 8L << 20;
            nbd.send(Unpooled.buffer()
                    .writeLong(HandshakeDescriptor.IHAVEOPT)
                    .writeInt(OPT_INFO)
                    .writeInt((int) length));
            byte[] chunk = new byte[64 * 1024];
            for (long sent = 0; sent < length; sent += chunk.length) {
                nbd.send(chunk);
                if (sent + chunk.length < length) {
                    assertFalse(nbd.output().isReadable());
                }
            }
            assertEquals(REP_ERR_TOO_BIG, nbd.readReply().type());
            // An unknown option is UNSUP whatever its size.
            nbd.send(Unpooled.buffer()
                    .writeLong(HandshakeDescriptor.IHAVEOPT)
                    .writeInt(77)
                    .writeInt(100_000));
            nbd.send(new byte[100_000]);
            assertEquals(REP_ERR_UNSUP, nbd.readReply().type());
            assertEquals(3, nbd.option(OPT_LIST, new byte[0]).size());
        }
    }

    @Test
    void hugeExportNameDisconnectsBecauseExportNameCannotFail() {
        try (EmbeddedNbd nbd = new EmbeddedNbd().handshake()) {
            nbd.send(Unpooled.buffer()
                    .writeLong(HandshakeDescriptor.IHAVEOPT)
                    .writeInt(OPT_EXPORT_NAME)
                    .writeInt(-1));
            assertFalse(nbd.isOpen());
        }
    }

    @Test
    void infoAndGoReportTheSameExport() {
        try (EmbeddedNbd nbd = new EmbeddedNbd().handshake()) {
            RawNbdClient.ExportInfo info = RawNbdClient.parseInfo(nbd.option(
                    OPT_INFO, RawNbdClient.infoData("mem", INFO_NAME, INFO_DESCRIPTION, INFO_BLOCK_SIZE, 77)));
            assertEquals(EmbeddedNbd.SIZE, info.sizeBytes());
            assertEquals("mem", info.name());
            assertEquals("memory", info.description());
            assertEquals(512, info.minimumBlock());
            assertEquals(4096, info.preferredBlock());
            assertEquals(32 << 20, info.maximumBlock());
            int expected = HAS_FLAGS
                    | SEND_FLUSH
                    | SEND_FUA
                    | SEND_TRIM
                    | SEND_WRITE_ZEROES
                    | SEND_FAST_ZERO
                    | CAN_MULTI_CONN
                    | SEND_CACHE;
            assertEquals(expected, info.flags());
            RawNbdClient.ExportInfo go = nbd.go("mem", INFO_NAME, INFO_DESCRIPTION, INFO_BLOCK_SIZE, 77);
            assertEquals(info, go);
            assertNotNull(nbd.channel.pipeline().get(NbdTransmissionHandler.class));
            assertNull(nbd.channel.pipeline().get(NbdNegotiationHandler.class));
        }
    }

    @Test
    void infoSendsOnlyWhatWasAskedFor() {
        try (EmbeddedNbd nbd = new EmbeddedNbd().handshake()) {
            List<RawNbdClient.OptionReply> replies = nbd.option(OPT_INFO, RawNbdClient.infoData("mem"));
            assertEquals(2, replies.size(), "INFO_EXPORT and ACK only");
            RawNbdClient.ExportInfo info = RawNbdClient.parseInfo(replies);
            assertNull(info.name());
            assertEquals(0, info.minimumBlock());
        }
    }

    @Test
    void emptyNameSelectsTheDefaultExport() {
        try (EmbeddedNbd nbd = new EmbeddedNbd().handshake()) {
            RawNbdClient.ExportInfo info =
                    RawNbdClient.parseInfo(nbd.option(OPT_INFO, RawNbdClient.infoData("", INFO_NAME)));
            assertEquals("mem", info.name());
        }
        NbdServerConfig noDefault = NbdServerConfig.builder().build();
        try (EmbeddedNbd nbd = new EmbeddedNbd(noDefault, new MemoryBlockDevice(1 << 20)).handshake()) {
            assertEquals(
                    REP_ERR_UNKNOWN,
                    nbd.optionExpectingOne(OPT_INFO, RawNbdClient.infoData("")).type());
        }
    }

    @Test
    void malformedInfoIsInvalidAndUnknownExportIsUnknown() {
        try (EmbeddedNbd nbd = new EmbeddedNbd().handshake()) {
            assertEquals(
                    REP_ERR_INVALID,
                    nbd.optionExpectingOne(OPT_GO, new byte[] {0, 0, 0}).type());
            ByteBuf bad =
                    Unpooled.buffer().writeInt(100).writeBytes(utf8("mem")).writeShort(0);
            byte[] badBytes = new byte[bad.readableBytes()];
            bad.readBytes(badBytes);
            assertEquals(
                    REP_ERR_INVALID, nbd.optionExpectingOne(OPT_GO, badBytes).type());
            byte[] trailing = java.util.Arrays.copyOf(RawNbdClient.infoData("mem", INFO_NAME), 14);
            assertEquals(
                    REP_ERR_INVALID, nbd.optionExpectingOne(OPT_INFO, trailing).type());
            RawNbdClient.OptionReply unknown = nbd.optionExpectingOne(OPT_GO, RawNbdClient.infoData("nope"));
            assertEquals(REP_ERR_UNKNOWN, unknown.type());
            assertTrue(unknown.text().contains("nope"));
            assertTrue(nbd.isOpen());
            nbd.go("mem");
        }
    }

    @Test
    void exportNameRepliesWithOrWithoutZeroPadding() {
        for (boolean noZeroes : new boolean[] {true, false}) {
            try (EmbeddedNbd nbd = new EmbeddedNbd()) {
                nbd.expectGreeting();
                nbd.sendInt(HandshakeDescriptor.CLIENT_FLAG_FIXED_NEWSTYLE
                        | (noZeroes ? HandshakeDescriptor.CLIENT_FLAG_NO_ZEROES : 0));
                nbd.sendOption(OPT_EXPORT_NAME, utf8("mem"));
                ByteBuf out = nbd.output();
                assertEquals(noZeroes ? 10 : 134, out.readableBytes());
                assertEquals(EmbeddedNbd.SIZE, out.readLong());
                assertEquals(SEND_FLUSH, out.readUnsignedShort() & SEND_FLUSH);
                while (out.isReadable()) {
                    assertEquals(0, out.readByte());
                }
                assertNotNull(nbd.channel.pipeline().get(NbdTransmissionHandler.class));
            }
        }
    }

    @Test
    void exportNameForUnknownExportDisconnects() {
        try (EmbeddedNbd nbd = new EmbeddedNbd().handshake()) {
            nbd.sendOption(OPT_EXPORT_NAME, utf8("nope"));
            assertFalse(nbd.isOpen());
        }
    }

    @Test
    void dfIsAdvertisedOnlyWithStructuredRepliesAndReadOnlyExportsHideWriteFeatures() {
        try (EmbeddedNbd nbd = new EmbeddedNbd().handshake()) {
            assertFalse(RawNbdClient.parseInfo(nbd.option(OPT_INFO, RawNbdClient.infoData("mem")))
                    .has(SEND_DF));
            assertEquals(
                    REP_ACK,
                    nbd.optionExpectingOne(OPT_STRUCTURED_REPLY, new byte[0]).type());
            assertTrue(RawNbdClient.parseInfo(nbd.option(OPT_INFO, RawNbdClient.infoData("mem")))
                    .has(SEND_DF));
            RawNbdClient.ExportInfo ro = RawNbdClient.parseInfo(nbd.option(OPT_INFO, RawNbdClient.infoData("ro")));
            assertEquals(HAS_FLAGS | READ_ONLY | SEND_FLUSH | SEND_CACHE | CAN_MULTI_CONN | SEND_DF, ro.flags());
        }
    }

    @Test
    void metaContextsNeedStructuredRepliesFirst() {
        try (EmbeddedNbd nbd = new EmbeddedNbd().handshake()) {
            byte[] query = RawNbdClient.metaContextData("mem", "base:allocation");
            assertEquals(
                    REP_ERR_INVALID,
                    nbd.optionExpectingOne(OPT_SET_META_CONTEXT, query).type());
            assertEquals(
                    REP_ERR_INVALID,
                    nbd.optionExpectingOne(OPT_LIST_META_CONTEXT, query).type());
            assertEquals(
                    REP_ACK,
                    nbd.optionExpectingOne(OPT_STRUCTURED_REPLY, new byte[0]).type());
            List<RawNbdClient.OptionReply> replies = nbd.option(OPT_SET_META_CONTEXT, query);
            assertEquals(2, replies.size());
            assertEquals(REP_META_CONTEXT, replies.get(0).type());
            assertEquals(
                    CommandExecutor.ALLOCATION_CONTEXT_ID,
                    ByteBuffer.wrap(replies.get(0).data()).getInt());
            assertEquals("base:allocation", new String(replies.get(0).data(), 4, 15));
        }
    }

    @Test
    void metaContextQueries() {
        try (EmbeddedNbd nbd = new EmbeddedNbd().handshake()) {
            nbd.optionExpectingOne(OPT_STRUCTURED_REPLY, new byte[0]);
            // LIST: no query and "base:" both list base:allocation with the reserved id 0.
            for (byte[] data : new byte[][] {
                RawNbdClient.metaContextData("mem"),
                RawNbdClient.metaContextData("mem", "base:"),
                RawNbdClient.metaContextData("", "x-other:thing", "base:allocation")
            }) {
                List<RawNbdClient.OptionReply> replies = nbd.option(OPT_LIST_META_CONTEXT, data);
                assertEquals(2, replies.size(), replies::toString);
                assertEquals(0, ByteBuffer.wrap(replies.get(0).data()).getInt());
            }
            // SET: "base:" and unknown leaves or namespaces select nothing and are no error.
            List<RawNbdClient.OptionReply> none = nbd.option(
                    OPT_SET_META_CONTEXT, RawNbdClient.metaContextData("mem", "base:", "base:dirty", "qemu:x"));
            assertEquals(1, none.size());
            assertEquals(REP_ACK, none.get(0).type());
            assertEquals(
                    REP_ERR_INVALID,
                    nbd.optionExpectingOne(OPT_SET_META_CONTEXT, RawNbdClient.metaContextData("mem", "nocolon"))
                            .type());
            assertEquals(
                    REP_ERR_UNKNOWN,
                    nbd.optionExpectingOne(
                                    OPT_SET_META_CONTEXT, RawNbdClient.metaContextData("nope", "base:allocation"))
                            .type());
            byte[] truncated = java.util.Arrays.copyOf(RawNbdClient.metaContextData("mem", "base:allocation"), 20);
            assertEquals(
                    REP_ERR_INVALID,
                    nbd.optionExpectingOne(OPT_SET_META_CONTEXT, truncated).type());
        }
    }

    @Test
    void clientThatDoesNotReadOptionRepliesIsPaused() {
        NbdServerConfig config = NbdServerConfig.builder().build();
        ExportRegistry registry = new ExportRegistry(null);
        registry.add(NbdExport.builder("mem", new MemoryBlockDevice(1 << 20)).build());
        ServerContext context = new ServerContext(config, registry, Runnable::run);
        int[] writabilityChanges = {0};
        long[] maxPending = {0};
        EmbeddedChannel channel = new EmbeddedChannel();
        channel.config().setWriteBufferWaterMark(new WriteBufferWaterMark(32, 64));
        channel.pipeline()
                .addLast(new ChannelOutboundHandlerAdapter() {
                    @Override
                    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
                        ctx.write(msg, promise);
                        maxPending[0] = Math.max(
                                maxPending[0],
                                ctx.channel().unsafe().outboundBuffer().totalPendingWriteBytes());
                    }
                })
                .addLast(new FlushConsolidationHandler(256, true))
                .addLast(new NbdNegotiationHandler(context))
                .addLast(new ChannelInboundHandlerAdapter() {
                    @Override
                    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
                        writabilityChanges[0]++;
                    }
                });
        channel.pipeline().fireChannelActive();
        try {
            ByteBuf in = Unpooled.buffer().writeInt(CLIENT_FLAGS);
            for (int i = 0; i < 100; i++) {
                in.writeLong(HandshakeDescriptor.IHAVEOPT).writeInt(OPT_LIST).writeInt(0);
            }
            channel.writeInbound(in);
            for (int i = 0; i < 1000 && channel.hasPendingTasks(); i++) {
                channel.runPendingTasks();
            }
            ByteBuf all = Unpooled.buffer();
            ByteBuf out;
            while ((out = channel.readOutbound()) != null) {
                all.writeBytes(out);
                out.release();
            }
            int replies = 0;
            try {
                all.skipBytes(HandshakeDescriptor.GREETING_LENGTH);
                while (all.isReadable()) {
                    assertEquals(OptionDescriptor.REPLY_MAGIC, all.readLong());
                    all.skipBytes(8);
                    all.skipBytes(all.readInt());
                    replies++;
                }
            } finally {
                all.release();
            }
            assertEquals(200, replies, "every LIST answered (one SERVER and one ACK each)");
            assertTrue(writabilityChanges[0] >= 2, "the channel went unwritable and back");
            assertTrue(maxPending[0] < 64 + 200, "replies never pile up: " + maxPending[0]);
            assertTrue(channel.config().isAutoRead());
        } finally {
            channel.finishAndReleaseAll();
        }
    }

    @Test
    void handshakeTimeoutDropsIdleClients() {
        try (EmbeddedNbd nbd = new EmbeddedNbd()) {
            nbd.expectGreeting();
            nbd.channel.advanceTimeBy(29, TimeUnit.SECONDS);
            nbd.channel.runScheduledPendingTasks();
            assertTrue(nbd.isOpen());
            nbd.channel.advanceTimeBy(2, TimeUnit.SECONDS);
            nbd.channel.runScheduledPendingTasks();
            assertFalse(nbd.isOpen());
        }
    }

    @Test
    void optionsDuringShutdownGetErrShutdown() {
        try (EmbeddedNbd nbd = new EmbeddedNbd().handshake()) {
            nbd.context.beginShutdown();
            assertEquals(
                    REP_ERR_SHUTDOWN,
                    nbd.optionExpectingOne(OPT_LIST, new byte[0]).type());
            assertEquals(
                    REP_ERR_SHUTDOWN,
                    nbd.optionExpectingOne(OPT_GO, RawNbdClient.infoData("mem")).type());
            assertEquals(REP_ACK, nbd.optionExpectingOne(OPT_ABORT, new byte[0]).type());
        }
    }

    @Test
    void requiredTlsRefusesEverythingButStartTlsAndAbort(@TempDir Path dir) throws Exception {
        NbdServerConfig config = tlsConfig(dir, TlsMode.REQUIRE);
        try (EmbeddedNbd nbd = new EmbeddedNbd(config, new MemoryBlockDevice(1 << 20)).handshake()) {
            assertEquals(
                    REP_ERR_TLS_REQD,
                    nbd.optionExpectingOne(OPT_LIST, new byte[0]).type());
            assertEquals(
                    REP_ERR_TLS_REQD,
                    nbd.optionExpectingOne(OPT_INFO, RawNbdClient.infoData("mem"))
                            .type());
            assertEquals(
                    REP_ERR_TLS_REQD,
                    nbd.optionExpectingOne(OPT_GO, RawNbdClient.infoData("mem")).type());
            assertEquals(
                    REP_ERR_TLS_REQD,
                    nbd.optionExpectingOne(OPT_STRUCTURED_REPLY, new byte[0]).type());
            assertEquals(
                    REP_ERR_TLS_REQD, nbd.optionExpectingOne(99, new byte[3]).type());
            assertEquals(
                    REP_ERR_INVALID,
                    nbd.optionExpectingOne(OPT_STARTTLS, new byte[1]).type());
            assertNull(nbd.channel.pipeline().get(SslHandler.class));
            assertEquals(
                    REP_ACK, nbd.optionExpectingOne(OPT_STARTTLS, new byte[0]).type());
            assertNotNull(nbd.channel.pipeline().get(SslHandler.class));
        }
        try (EmbeddedNbd nbd = new EmbeddedNbd(config, new MemoryBlockDevice(1 << 20)).handshake()) {
            nbd.sendOption(OPT_EXPORT_NAME, utf8("mem"));
            assertFalse(nbd.isOpen(), "EXPORT_NAME cannot be refused, so the connection drops");
        }
        try (EmbeddedNbd nbd = new EmbeddedNbd(config, new MemoryBlockDevice(1 << 20))) {
            nbd.expectGreeting();
            nbd.sendInt(0);
            assertFalse(nbd.isOpen(), "a client without fixed newstyle cannot do TLS");
        }
    }

    @Test
    void optionalTlsAllowsPlainOptions(@TempDir Path dir) throws Exception {
        NbdServerConfig config = tlsConfig(dir, TlsMode.ON);
        try (EmbeddedNbd nbd = new EmbeddedNbd(config, new MemoryBlockDevice(1 << 20)).handshake()) {
            assertEquals(3, nbd.option(OPT_LIST, new byte[0]).size());
            nbd.go("mem");
        }
    }

    @Test
    void startTlsAfterDataFromTheClientDisconnects(@TempDir Path dir) throws Exception {
        NbdServerConfig config = tlsConfig(dir, TlsMode.ON);
        try (EmbeddedNbd nbd = new EmbeddedNbd(config, new MemoryBlockDevice(1 << 20)).handshake()) {
            ByteBuf b = Unpooled.buffer();
            b.writeLong(HandshakeDescriptor.IHAVEOPT).writeInt(OPT_STARTTLS).writeInt(0);
            b.writeBytes(new byte[] {22, 3, 1});
            nbd.send(b);
            assertFalse(nbd.isOpen());
        }
    }

    static NbdServerConfig tlsConfig(Path dir, TlsMode mode) throws Exception {
        TestCertificates certs = TestCertificates.create(dir);
        return NbdServerConfig.builder()
                .defaultExport("mem")
                .tlsMode(mode)
                .tlsCertificate(certs.serverCert, certs.serverKey)
                .build();
    }
}
