package io.raidd.nbd;

import static io.raidd.nbd.RequestDescriptor.CMD_DISC;
import static io.raidd.nbd.RequestDescriptor.CMD_READ;
import static io.raidd.nbd.RequestDescriptor.CMD_WRITE;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.CorruptedFrameException;
import java.util.ArrayList;
import java.util.List;

/**
 * Splits the transmission-phase byte stream into {@link NbdRequest}s.
 *
 * <p>Each request first reserves room in the {@link ConnectionBudget}; while it does not fit, the
 * decoder stops reading from the socket. WRITE payloads that are already complete in the receive
 * buffer are sliced, not copied. A large payload still arriving is gathered as it comes, because
 * letting the receive buffer grow to 32 MiB costs repeated reallocation and copying: as a
 * composite of slices of the socket reads themselves (no copy; the device takes the pieces with
 * {@link io.raidd.blockdev.BlockDevice#writeGathered}), or, once a piece shorter than {@link
 * #MIN_SLICE_BYTES} arrives in the middle (TLS records, a slow sender), by copying into a buffer of
 * exactly its size, so that a payload is never hundreds of tiny pieces. A payload above the maximum is skipped as it arrives, never buffered,
 * and the request is passed on marked so it can be refused with EINVAL: the stream stays in sync
 * and memory stays bounded whatever length a client announces.
 */
final class NbdRequestDecoder extends ByteToMessageDecoder {
    enum State {
        HEADER,
        RESERVE,
        PAYLOAD,
        SKIP_PAYLOAD,
        STOPPED
    }

    /** Payloads at least this large are gathered as they arrive rather than accumulated. */
    static final int GATHER_THRESHOLD_BYTES = 256 * 1024;

    /** The shortest piece of a gathered payload kept as a slice (except its first and last). */
    static final int MIN_SLICE_BYTES = 64 * 1024;

    private final int maxPayloadBytes;
    private final ConnectionBudget budget;
    private final ByteBufAllocator payloadBuffers;

    private State state = State.HEADER;
    private int flags;
    private int type;
    private long cookie;
    private long offsetBytes;
    private long lengthBytes;
    private long budgetBytes;
    private boolean reserved;
    private ByteBuf gathered;
    private long skipRemainingBytes;
    private boolean pausedForBudget;
    private ChannelHandlerContext ctx;

    NbdRequestDecoder(int maxPayloadBytes, ConnectionBudget budget, ByteBufAllocator payloadBuffers) {
        this.maxPayloadBytes = maxPayloadBytes;
        this.budget = budget;
        this.payloadBuffers = payloadBuffers;
    }

    State state() {
        return state;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        // Some steps consume no bytes (reserving budget, a request without payload), and the caller
        // only calls again while bytes remain: step until a request is out or nothing moves.
        while (out.isEmpty()) {
            State before = state;
            int readable = in.readableBytes();
            step(in, out);
            if (state == before && in.readableBytes() == readable) {
                return;
            }
        }
    }

    private void step(ByteBuf in, List<Object> out) {
        switch (state) {
            case HEADER -> decodeHeader(in);
            case RESERVE -> reserve(out);
            case PAYLOAD -> decodePayload(in, out);
            case SKIP_PAYLOAD -> skipPayload(in, out);
            case STOPPED -> in.skipBytes(in.readableBytes());
        }
    }

    private void decodeHeader(ByteBuf in) {
        if (in.readableBytes() < RequestDescriptor.HEADER_LENGTH) {
            return;
        }
        int base = in.readerIndex();
        int magic = in.getInt(base + RequestDescriptor.MAGIC_OFFSET);
        if (magic != RequestDescriptor.MAGIC) {
            stop();
            in.skipBytes(in.readableBytes());
            throw new CorruptedFrameException("bad request magic 0x" + Integer.toHexString(magic));
        }
        flags = in.getUnsignedShort(base + RequestDescriptor.FLAGS_OFFSET);
        type = in.getUnsignedShort(base + RequestDescriptor.TYPE_OFFSET);
        cookie = in.getLong(base + RequestDescriptor.COOKIE_OFFSET);
        offsetBytes = in.getLong(base + RequestDescriptor.OFFSET_OFFSET);
        lengthBytes = in.getUnsignedInt(base + RequestDescriptor.LENGTH_OFFSET);
        in.skipBytes(RequestDescriptor.HEADER_LENGTH);
        boolean carriesData = (type == CMD_READ || type == CMD_WRITE) && lengthBytes <= maxPayloadBytes;
        budgetBytes = carriesData ? lengthBytes : 0;
        state = State.RESERVE;
    }

    private void reserve(List<Object> out) {
        if (type == CMD_DISC) {
            // The client must not send anything after DISC; whatever follows is ignored.
            out.add(request(null, false, false));
            stop();
            return;
        }
        if (!budget.tryAcquire(budgetBytes, this::resumeAfterBudget)) {
            if (!pausedForBudget) {
                pausedForBudget = true;
                ctx.channel().config().setAutoRead(false);
            }
            return;
        }
        reserved = true;
        if (pausedForBudget) {
            pausedForBudget = false;
            ctx.channel().config().setAutoRead(true);
        }
        if (type != CMD_WRITE || lengthBytes == 0) {
            emit(out, null, false);
        } else if (lengthBytes > maxPayloadBytes) {
            skipRemainingBytes = lengthBytes;
            state = State.SKIP_PAYLOAD;
        } else {
            state = State.PAYLOAD;
        }
    }

    private void decodePayload(ByteBuf in, List<Object> out) {
        if (gathered == null) {
            if (in.readableBytes() >= lengthBytes) {
                emit(out, in.readRetainedSlice((int) lengthBytes), false);
                return;
            }
            if (lengthBytes < GATHER_THRESHOLD_BYTES || !in.isReadable()) {
                return;
            }
            gathered = payloadBuffers.compositeDirectBuffer(Integer.MAX_VALUE);
        }
        int missing = (int) lengthBytes - gathered.readableBytes();
        int n = Math.min(in.readableBytes(), missing);
        if (n == 0) {
            return;
        }
        if (gathered instanceof CompositeByteBuf slices) {
            if (n >= MIN_SLICE_BYTES || n == missing || slices.numComponents() == 0) {
                slices.addComponent(true, in.readRetainedSlice(n));
            } else {
                gathered = payloadBuffers.directBuffer((int) lengthBytes).writeBytes(slices);
                slices.release();
                gathered.writeBytes(in, n);
            }
        } else {
            gathered.writeBytes(in, n);
        }
        if (gathered.readableBytes() < lengthBytes) {
            return;
        }
        ByteBuf payload = gathered;
        gathered = null;
        emit(out, payload, false);
    }

    private void skipPayload(ByteBuf in, List<Object> out) {
        int n = (int) Math.min(in.readableBytes(), skipRemainingBytes);
        in.skipBytes(n);
        skipRemainingBytes -= n;
        if (skipRemainingBytes == 0) {
            emit(out, null, true);
        }
    }

    private void emit(List<Object> out, ByteBuf payload, boolean skipped) {
        out.add(request(payload, skipped, true));
        reserved = false;
        state = State.HEADER;
    }

    private NbdRequest request(ByteBuf payload, boolean skipped, boolean budgeted) {
        return new NbdRequest(flags, type, cookie, offsetBytes, lengthBytes, payload, skipped, budgetBytes, budgeted);
    }

    private void resumeAfterBudget() {
        if (state != State.RESERVE
                || ctx == null
                || ctx.isRemoved()
                || !ctx.channel().isActive()) {
            return;
        }
        // The bytes that complete this request may all be buffered already (or none may be
        // needed), so no socket read would ever wake the decoder: run it on what it holds. The
        // superclass only decodes while bytes remain, hence the direct call first.
        List<Object> out = new ArrayList<>(1);
        try {
            decode(ctx, internalBuffer(), out);
            for (Object request : out) {
                ctx.fireChannelRead(request);
            }
            if (internalBuffer().isReadable()) {
                channelRead(ctx, Unpooled.EMPTY_BUFFER);
            }
            ctx.fireChannelReadComplete();
        } catch (Exception e) {
            ctx.fireExceptionCaught(e);
        }
    }

    /** Stops decoding for good (DISC, violation, shutdown): input is discarded, reading stops. */
    void stop() {
        abandonPartialRequest();
        state = State.STOPPED;
        if (ctx != null) {
            ctx.channel().config().setAutoRead(false);
        }
    }

    private void abandonPartialRequest() {
        if (gathered != null) {
            gathered.release();
            gathered = null;
        }
        if (reserved) {
            reserved = false;
            budget.release(budgetBytes);
        }
    }

    @Override
    protected void decodeLast(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        // A request cut off by the peer closing is dropped; nothing can be answered anyway.
        in.skipBytes(in.readableBytes());
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        abandonPartialRequest();
        state = State.STOPPED;
        super.channelInactive(ctx);
    }

    @Override
    protected void handlerRemoved0(ChannelHandlerContext ctx) {
        abandonPartialRequest();
        state = State.STOPPED;
    }
}
