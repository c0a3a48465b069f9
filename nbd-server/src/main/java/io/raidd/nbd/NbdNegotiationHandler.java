package io.raidd.nbd;

import static io.raidd.nbd.OptionDescriptor.OPT_ABORT;
import static io.raidd.nbd.OptionDescriptor.OPT_EXPORT_NAME;
import static io.raidd.nbd.OptionDescriptor.OPT_GO;
import static io.raidd.nbd.OptionDescriptor.OPT_INFO;
import static io.raidd.nbd.OptionDescriptor.OPT_LIST;
import static io.raidd.nbd.OptionDescriptor.OPT_LIST_META_CONTEXT;
import static io.raidd.nbd.OptionDescriptor.OPT_SET_META_CONTEXT;
import static io.raidd.nbd.OptionDescriptor.OPT_STARTTLS;
import static io.raidd.nbd.OptionDescriptor.OPT_STRUCTURED_REPLY;
import static io.raidd.nbd.OptionDescriptor.REP_ERR_INVALID;
import static io.raidd.nbd.OptionDescriptor.REP_ERR_POLICY;
import static io.raidd.nbd.OptionDescriptor.REP_ERR_SHUTDOWN;
import static io.raidd.nbd.OptionDescriptor.REP_ERR_TLS_REQD;
import static io.raidd.nbd.OptionDescriptor.REP_ERR_TOO_BIG;
import static io.raidd.nbd.OptionDescriptor.REP_ERR_UNKNOWN;
import static io.raidd.nbd.OptionDescriptor.REP_ERR_UNSUP;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.concurrent.Future;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * The handshake and option haggling of one connection (fixed newstyle), from the greeting to the
 * moment it hands the channel to the transmission handlers. Every option gets exactly one final
 * reply and the next option always parses: unknown options get ERR_UNSUP, oversized ones are
 * skipped without being buffered. The only hard disconnects are the ones the protocol leaves as
 * the sole answer: unknown client flags, a bad option magic, and an EXPORT_NAME that cannot be
 * satisfied (that option has no error reply).
 */
final class NbdNegotiationHandler extends ByteToMessageDecoder {
    private static final System.Logger LOG = System.getLogger(NbdNegotiationHandler.class.getName());

    enum State {
        CLIENT_FLAGS,
        OPTION_HEADER,
        OPTION_DATA,
        OPTION_SKIP,
        TLS_HANDSHAKE,
        TRANSMISSION,
        CLOSED
    }

    private final ServerContext server;
    private final TlsMode tlsMode;
    private final SslContext sslContext;

    private State state = State.CLIENT_FLAGS;
    private ChannelHandlerContext ctx;
    private ScheduledFuture<?> handshakeTimeout;

    private boolean fixedNewstyle;
    private boolean noZeroes;
    private boolean tlsActive;
    private boolean structuredReplies;
    /** Export the last SET_META_CONTEXT selected base:allocation for, or null. */
    private String allocationContextExport;

    private int option;
    private long optionLengthBytes;
    private long skipRemainingBytes;
    private int skipReplyType;
    private String skipMessage;
    private boolean pausedForWrites;

    NbdNegotiationHandler(ServerContext server) {
        this.server = server;
        this.tlsMode = server.config.tlsMode();
        this.sslContext = server.config.sslContext().orElse(null);
    }

    State state() {
        return state;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        this.ctx = ctx;
        long timeoutNs = server.config.handshakeTimeout().toNanos();
        handshakeTimeout = ctx.executor().schedule(this::onHandshakeTimeout, timeoutNs, TimeUnit.NANOSECONDS);
        ctx.writeAndFlush(OptionReplies.greeting(ctx.alloc()));
        super.channelActive(ctx);
    }

    private void onHandshakeTimeout() {
        if (state != State.TRANSMISSION && state != State.CLOSED) {
            hardDisconnect("handshake timeout");
        }
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        // Some steps consume no bytes (an option with empty data), and the caller only calls again
        // while bytes remain, so keep stepping as long as something moves.
        while (!ctx.isRemoved()) {
            if (state == State.OPTION_HEADER && !ctx.channel().isWritable()) {
                // A client that sends options without reading the replies would make us buffer
                // replies without bound: stop reading until it catches up.
                pauseUntilWritable();
                return;
            }
            State before = state;
            int readable = in.readableBytes();
            step(in);
            if (state == before && in.readableBytes() == readable) {
                return;
            }
        }
    }

    private void step(ByteBuf in) {
        switch (state) {
            case CLIENT_FLAGS -> decodeClientFlags(in);
            case OPTION_HEADER -> decodeOptionHeader(in);
            case OPTION_DATA -> decodeOptionData(in);
            case OPTION_SKIP -> skipOptionData(in);
            case TLS_HANDSHAKE, TRANSMISSION -> {
                // Bytes wait in the buffer: TLS records are for the SslHandler once it is up, and
                // requests after GO are handed to the request decoder when this handler leaves.
            }
            case CLOSED -> in.skipBytes(in.readableBytes());
        }
    }

    private void decodeClientFlags(ByteBuf in) {
        if (in.readableBytes() < HandshakeDescriptor.CLIENT_FLAGS_LENGTH) {
            return;
        }
        int flags = in.readInt();
        if ((flags & ~HandshakeDescriptor.CLIENT_FLAGS_KNOWN) != 0) {
            hardDisconnect("unknown client flags 0x" + Integer.toHexString(flags));
            return;
        }
        fixedNewstyle = (flags & HandshakeDescriptor.CLIENT_FLAG_FIXED_NEWSTYLE) != 0;
        noZeroes = (flags & HandshakeDescriptor.CLIENT_FLAG_NO_ZEROES) != 0;
        if (tlsMode == TlsMode.REQUIRE && !fixedNewstyle) {
            // TLS needs fixed newstyle, and without TLS nothing may be served.
            hardDisconnect("client without fixed newstyle cannot use required TLS");
            return;
        }
        state = State.OPTION_HEADER;
    }

    private void decodeOptionHeader(ByteBuf in) {
        if (in.readableBytes() < OptionDescriptor.REQUEST_HEADER_LENGTH) {
            return;
        }
        long magic = in.readLong();
        if (magic != HandshakeDescriptor.IHAVEOPT) {
            hardDisconnect("bad option magic 0x" + Long.toHexString(magic));
            return;
        }
        option = in.readInt();
        optionLengthBytes = in.readUnsignedInt();
        if (optionLengthBytes <= OptionDescriptor.MAX_BUFFERED_OPTION_LENGTH) {
            state = State.OPTION_DATA;
            return;
        }
        if (option == OPT_EXPORT_NAME) {
            hardDisconnect("export name of " + optionLengthBytes + " bytes");
            return;
        }
        skipRemainingBytes = optionLengthBytes;
        if (tlsRequiredNow() && option != OPT_STARTTLS && option != OPT_ABORT) {
            skipReplyType = REP_ERR_TLS_REQD;
            skipMessage = "TLS is required";
        } else if (OptionDescriptor.isKnown(option)) {
            skipReplyType = REP_ERR_TOO_BIG;
            skipMessage = "option data of " + optionLengthBytes + " bytes is too large";
        } else {
            skipReplyType = REP_ERR_UNSUP;
            skipMessage = "unsupported option " + option;
        }
        state = State.OPTION_SKIP;
    }

    private void skipOptionData(ByteBuf in) {
        int n = (int) Math.min(in.readableBytes(), skipRemainingBytes);
        in.skipBytes(n);
        skipRemainingBytes -= n;
        if (skipRemainingBytes == 0) {
            state = State.OPTION_HEADER;
            if (option == OPT_ABORT) {
                abort();
            } else {
                replyAndFlush(OptionReplies.error(ctx.alloc(), option, skipReplyType, skipMessage));
            }
        }
    }

    private void decodeOptionData(ByteBuf in) {
        if (in.readableBytes() < optionLengthBytes) {
            return;
        }
        ByteBuf data = in.readSlice((int) optionLengthBytes);
        state = State.OPTION_HEADER;
        handleOption(data);
        if (state == State.TLS_HANDSHAKE && in.isReadable()) {
            // The client must wait for the ACK before starting TLS; anything sent earlier is not
            // TLS and cannot be interpreted.
            hardDisconnect("data sent before the STARTTLS reply");
        }
    }

    private void pauseUntilWritable() {
        if (!pausedForWrites) {
            pausedForWrites = true;
            ctx.channel().config().setAutoRead(false);
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) throws Exception {
        if (pausedForWrites && ctx.channel().isWritable()) {
            pausedForWrites = false;
            ctx.channel().config().setAutoRead(true);
            if (internalBuffer().isReadable()) {
                channelRead(ctx, Unpooled.EMPTY_BUFFER);
            }
        }
        ctx.fireChannelWritabilityChanged();
    }

    private boolean tlsRequiredNow() {
        return tlsMode == TlsMode.REQUIRE && !tlsActive;
    }

    private void handleOption(ByteBuf data) {
        if (server.shuttingDown() && option != OPT_ABORT) {
            if (option == OPT_EXPORT_NAME) {
                hardDisconnect("shutting down");
            } else {
                replyAndFlush(OptionReplies.error(ctx.alloc(), option, REP_ERR_SHUTDOWN, "server is shutting down"));
            }
            return;
        }
        if (tlsRequiredNow() && option != OPT_STARTTLS && option != OPT_ABORT) {
            if (option == OPT_EXPORT_NAME) {
                hardDisconnect("EXPORT_NAME without the required TLS");
            } else {
                replyAndFlush(OptionReplies.error(ctx.alloc(), option, REP_ERR_TLS_REQD, "TLS is required"));
            }
            return;
        }
        switch (option) {
            case OPT_EXPORT_NAME -> exportName(data);
            case OPT_ABORT -> abort();
            case OPT_LIST -> list(data);
            case OPT_STARTTLS -> startTls(data);
            case OPT_INFO, OPT_GO -> infoOrGo(data);
            case OPT_STRUCTURED_REPLY -> structuredReply(data);
            case OPT_LIST_META_CONTEXT, OPT_SET_META_CONTEXT -> metaContext(data);
            default ->
                replyAndFlush(OptionReplies.error(ctx.alloc(), option, REP_ERR_UNSUP, "unsupported option " + option));
        }
    }

    private void exportName(ByteBuf data) {
        ExportEntry entry = server.registry.resolve(data.toString(StandardCharsets.UTF_8));
        if (entry == null || entry.isRemoving()) {
            hardDisconnect("EXPORT_NAME for an unknown export");
            return;
        }
        int flags = transmissionFlags(entry);
        ctx.write(OptionReplies.exportNameReply(ctx.alloc(), entry.export.sizeBytes(), flags, noZeroes));
        enterTransmission(entry, flags, false);
    }

    private void abort() {
        state = State.CLOSED;
        ctx.writeAndFlush(OptionReplies.ack(ctx.alloc(), OPT_ABORT)).addListener(ChannelFutureListener.CLOSE);
    }

    private void list(ByteBuf data) {
        if (data.isReadable()) {
            replyAndFlush(OptionReplies.error(ctx.alloc(), option, REP_ERR_INVALID, "LIST takes no data"));
            return;
        }
        for (ExportEntry entry : server.registry.list()) {
            if (!entry.isRemoving()) {
                ctx.write(OptionReplies.server(ctx.alloc(), entry.export.name(), entry.export.description()));
            }
        }
        replyAndFlush(OptionReplies.ack(ctx.alloc(), option));
    }

    private void startTls(ByteBuf data) {
        if (sslContext == null || !fixedNewstyle) {
            replyAndFlush(OptionReplies.error(ctx.alloc(), option, REP_ERR_POLICY, "TLS is not enabled"));
            return;
        }
        if (tlsActive) {
            replyAndFlush(OptionReplies.error(ctx.alloc(), option, REP_ERR_INVALID, "TLS is already active"));
            return;
        }
        if (data.isReadable()) {
            replyAndFlush(OptionReplies.error(ctx.alloc(), option, REP_ERR_INVALID, "STARTTLS takes no data"));
            return;
        }
        // startTls=true lets the ACK, the first write after the handler is in place, go out in
        // plain text; everything after it is encrypted.
        SslHandler ssl = new SslHandler(sslContext.newEngine(ctx.alloc()), true);
        ctx.pipeline().addFirst("tls", ssl);
        state = State.TLS_HANDSHAKE;
        replyAndFlush(OptionReplies.ack(ctx.alloc(), option));
        ssl.handshakeFuture().addListener(this::onTlsHandshake);
    }

    private void onTlsHandshake(Future<? super io.netty.channel.Channel> f) {
        if (state != State.TLS_HANDSHAKE) {
            return;
        }
        if (!f.isSuccess()) {
            LOG.log(System.Logger.Level.DEBUG, () -> "TLS handshake failed: " + f.cause());
            hardDisconnect("TLS handshake failed");
            return;
        }
        tlsActive = true;
        // STARTTLS discards everything negotiated before it.
        structuredReplies = false;
        allocationContextExport = null;
        state = State.OPTION_HEADER;
        if (internalBuffer().isReadable()) {
            try {
                channelRead(ctx, Unpooled.EMPTY_BUFFER);
            } catch (Exception e) {
                ctx.fireExceptionCaught(e);
            }
        }
    }

    private void structuredReply(ByteBuf data) {
        if (data.isReadable()) {
            replyAndFlush(OptionReplies.error(ctx.alloc(), option, REP_ERR_INVALID, "STRUCTURED_REPLY takes no data"));
            return;
        }
        structuredReplies = true;
        replyAndFlush(OptionReplies.ack(ctx.alloc(), option));
    }

    private void infoOrGo(ByteBuf data) {
        OptionRequests.InfoRequest request;
        try {
            request = OptionRequests.parseInfo(data);
        } catch (OptionRequests.MalformedOptionException e) {
            replyAndFlush(OptionReplies.error(ctx.alloc(), option, REP_ERR_INVALID, e.getMessage()));
            return;
        }
        ExportEntry entry = server.registry.resolve(request.exportName());
        if (entry == null || entry.isRemoving()) {
            replyAndFlush(OptionReplies.error(
                    ctx.alloc(), option, REP_ERR_UNKNOWN, "no export named '" + request.exportName() + "'"));
            return;
        }
        NbdExport export = entry.export;
        int flags = transmissionFlags(entry);
        ctx.write(OptionReplies.infoExport(ctx.alloc(), option, export.sizeBytes(), flags));
        if (request.wantsName()) {
            ctx.write(OptionReplies.infoString(ctx.alloc(), option, OptionDescriptor.INFO_NAME, export.name()));
        }
        if (request.wantsDescription() && !export.description().isEmpty()) {
            ctx.write(OptionReplies.infoString(
                    ctx.alloc(), option, OptionDescriptor.INFO_DESCRIPTION, export.description()));
        }
        if (request.wantsBlockSize()) {
            ctx.write(OptionReplies.infoBlockSize(
                    ctx.alloc(),
                    option,
                    export.minimumBlockSizeBytes(),
                    export.preferredBlockSizeBytes(),
                    server.config.maxPayloadBytes()));
        }
        if (option == OPT_INFO) {
            replyAndFlush(OptionReplies.ack(ctx.alloc(), option));
            return;
        }
        ctx.write(OptionReplies.ack(ctx.alloc(), option));
        enterTransmission(entry, flags, request.wantsBlockSize());
    }

    private void metaContext(ByteBuf data) {
        boolean set = option == OPT_SET_META_CONTEXT;
        if (set) {
            // SET replaces the selection even when it fails.
            allocationContextExport = null;
        }
        if (!structuredReplies) {
            replyAndFlush(
                    OptionReplies.error(ctx.alloc(), option, REP_ERR_INVALID, "negotiate structured replies first"));
            return;
        }
        OptionRequests.MetaContextRequest request;
        try {
            request = OptionRequests.parseMetaContext(data);
        } catch (OptionRequests.MalformedOptionException e) {
            replyAndFlush(OptionReplies.error(ctx.alloc(), option, REP_ERR_INVALID, e.getMessage()));
            return;
        }
        ExportEntry entry = server.registry.resolve(request.exportName());
        if (entry == null || entry.isRemoving()) {
            replyAndFlush(OptionReplies.error(
                    ctx.alloc(), option, REP_ERR_UNKNOWN, "no export named '" + request.exportName() + "'"));
            return;
        }
        boolean allocation = false;
        if (!set && request.queries().isEmpty()) {
            allocation = true;
        }
        for (String query : request.queries()) {
            // "base:" is a wildcard when listing and selects nothing when setting; unknown
            // namespaces and leaves are ignored, not errors.
            if (query.equals(OptionDescriptor.BASE_ALLOCATION)
                    || (!set && query.equals(OptionDescriptor.BASE_NAMESPACE))) {
                allocation = true;
            }
        }
        if (allocation) {
            int id = set ? CommandExecutor.ALLOCATION_CONTEXT_ID : 0;
            ctx.write(OptionReplies.metaContext(ctx.alloc(), option, id, OptionDescriptor.BASE_ALLOCATION));
        }
        if (set && allocation) {
            allocationContextExport = entry.export.name();
        }
        replyAndFlush(OptionReplies.ack(ctx.alloc(), option));
    }

    private int transmissionFlags(ExportEntry entry) {
        return TransmissionFlags.forExport(entry.export.readOnly(), structuredReplies);
    }

    private void enterTransmission(ExportEntry entry, int flags, boolean blockSizeNegotiated) {
        state = State.TRANSMISSION;
        cancelTimeout();
        String export = entry.export.name();
        int contextId = export.equals(allocationContextExport) ? CommandExecutor.ALLOCATION_CONTEXT_ID : 0;
        TransmissionSession session = new TransmissionSession(
                entry,
                flags,
                structuredReplies,
                contextId,
                blockSizeNegotiated,
                server.config.maxPayloadBytes(),
                tlsActive);
        int pieceBytes = NbdRequestDecoder.pieceBytes(entry.export.device().optimalWriteBytes());
        ConnectionBudget budget = new ConnectionBudget(
                String.valueOf(ctx.channel().remoteAddress()),
                server.config.maxInFlightRequestsPerConnection(),
                server.config.maxReplyBytesPerConnection(),
                server.config.maxPayloadBytesPerConnection(),
                pieceBytes,
                server.bufferBudget,
                ctx.channel().eventLoop());
        NbdRequestDecoder decoder =
                new NbdRequestDecoder(server.config.maxPayloadBytes(), pieceBytes, budget, server.dataBuffers);
        ctx.channel().attr(BudgetedReads.BUDGET).set(budget);
        FairSubmitter io = new FairSubmitter(
                server.ioExecutor,
                server.config.maxExecutingRequestsPerConnection(),
                (check, delayNanos) -> ctx.channel().eventLoop().schedule(check, delayNanos, TimeUnit.NANOSECONDS),
                System::nanoTime,
                FairSubmitter.DEFAULT_STALL_NANOS,
                new FairSubmitter.StuckWorkers() {
                    @Override
                    public void stuck() {
                        server.workerStuck();
                    }

                    @Override
                    public void returned() {
                        server.workerReturned();
                    }
                });
        NbdTransmissionHandler handler = new NbdTransmissionHandler(
                ctx.channel(),
                session,
                io,
                budget,
                decoder,
                server.dataBuffers,
                server.config.stallTimeout().toNanos());
        ctx.flush();
        if (!entry.attach(handler)) {
            hardDisconnect("export removed during negotiation");
            return;
        }
        ctx.pipeline().addAfter(ctx.name(), "nbd-requests", decoder);
        ctx.pipeline().addAfter("nbd-requests", "nbd-transmission", handler);
        // Bytes already buffered after GO are requests: removal hands them to the decoder.
        ctx.pipeline().remove(this);
    }

    private void replyAndFlush(ByteBuf reply) {
        ctx.writeAndFlush(reply);
    }

    private void hardDisconnect(String reason) {
        LOG.log(System.Logger.Level.DEBUG, () -> "dropping " + ctx.channel().remoteAddress() + ": " + reason);
        state = State.CLOSED;
        cancelTimeout();
        ctx.close();
    }

    private void cancelTimeout() {
        if (handshakeTimeout != null) {
            handshakeTimeout.cancel(false);
            handshakeTimeout = null;
        }
    }

    @Override
    protected void decodeLast(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        in.skipBytes(in.readableBytes());
    }

    @Override
    protected void handlerRemoved0(ChannelHandlerContext ctx) {
        if (state != State.TRANSMISSION) {
            cancelTimeout();
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        cancelTimeout();
        state = State.CLOSED;
        super.channelInactive(ctx);
    }
}
