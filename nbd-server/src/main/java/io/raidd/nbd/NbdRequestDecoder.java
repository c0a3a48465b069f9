package io.raidd.nbd;

import static io.raidd.nbd.RequestDescriptor.CMD_DISC;
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
 * Splits the transmission-phase byte stream into {@link NbdRequest}s and {@link WritePiece}s.
 *
 * <p>Each request first takes a slot in the {@link ConnectionBudget}; while none is free, the
 * decoder stops reading from the socket. WRITE payload bytes are counted in the budget as they are
 * taken from the socket, and before reading more of a payload the decoder asks the budget for room
 * ({@link ConnectionBudget#payloadRoom}); without it, it stops reading until room is granted, so TCP
 * pushes back on the client. When the whole server is at its ceiling it first hands on what it
 * gathered of the payload as a piece, to be written and freed: memory held for a payload the
 * server itself stopped reading could otherwise wait for room that only such payloads hold.
 *
 * <p>A WRITE longer than {@link #pieceBytes} is handed on in {@link WritePiece}s as its payload
 * arrives, each ending on a multiple of the piece size in device offsets, so a 32 MiB write costs
 * about one piece of memory however slowly it comes. Shorter WRITEs are handed on whole.
 *
 * <p>Payloads that are already complete in the receive buffer are sliced, not copied. A large
 * payload still arriving is gathered as it comes, because letting the receive buffer grow to
 * 32 MiB costs repeated reallocation and copying: as a composite of slices of the socket reads
 * themselves (no copy; the device takes the pieces with {@link
 * io.raidd.blockdev.BlockDevice#writeGathered}), except that pieces shorter than {@link
 * #MIN_SLICE_BYTES} (TLS records, a slow sender) are copied into buffers of {@link
 * #COPY_CHUNK_BYTES}, so that a payload is never hundreds of tiny pieces nor pins a socket buffer
 * per byte. A payload above the maximum is skipped as it arrives, never buffered, and the request
 * is passed on marked so it can be refused with EINVAL: the stream stays in sync and memory stays
 * bounded whatever length a client announces.
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

    /** The shortest piece of a gathered payload kept as a slice of the socket read. */
    static final int MIN_SLICE_BYTES = 64 * 1024;

    /** Shorter pieces of a gathered payload are copied into buffers of this size. */
    static final int COPY_CHUNK_BYTES = 64 * 1024;

    private static final int MIN_PIECE_BYTES = 1 << 20;
    private static final int MAX_PIECE_BYTES = 16 << 20;

    /**
     * The piece size for a device: the smallest multiple of its optimal write size (a RAID-5/6 full
     * stripe) of at least 1 MiB, so that each piece of a long WRITE is written as whole stripes;
     * 1 MiB without an optimal size, 16 MiB at most.
     */
    static int pieceBytes(int optimalWriteBytes) {
        if (optimalWriteBytes <= 0) {
            return MIN_PIECE_BYTES;
        }
        long piece = ((long) MIN_PIECE_BYTES + optimalWriteBytes - 1) / optimalWriteBytes * optimalWriteBytes;
        return (int) Math.min(piece, MAX_PIECE_BYTES);
    }

    private final int maxPayloadBytes;
    private final int pieceBytes;
    private final ConnectionBudget budget;
    private final ByteBufAllocator payloadBuffers;

    private State state = State.HEADER;
    private int flags;
    private int type;
    private long cookie;
    private long offsetBytes;
    private long lengthBytes;
    /** A request slot is taken for the request being decoded and not handed on yet. */
    private boolean holdsSlot;
    /** The current WRITE is handed on in pieces. */
    private boolean pieced;
    /** The current pieced WRITE, once its first piece was handed on. */
    private NbdRequest piecedRequest;
    /** Payload bytes of the current request taken from the socket so far. */
    private long payloadDoneBytes;
    /** Where (in the request's payload) the piece being gathered starts. */
    private long pieceStartBytes;

    private CompositeByteBuf gathered;
    /** The chunk short pieces are being copied into, not yet added to {@link #gathered}. */
    private ByteBuf copied;

    private long skipRemainingBytes;
    private boolean paused;
    private long lastInputNanos = System.nanoTime();
    private ChannelHandlerContext ctx;

    NbdRequestDecoder(int maxPayloadBytes, int pieceBytes, ConnectionBudget budget, ByteBufAllocator payloadBuffers) {
        this.maxPayloadBytes = maxPayloadBytes;
        this.pieceBytes = pieceBytes;
        this.budget = budget;
        this.payloadBuffers = payloadBuffers;
    }

    State state() {
        return state;
    }

    /** True while a request's payload is incomplete and the server is not the one holding it up. */
    boolean awaitingClientBytes() {
        return state == State.PAYLOAD && !paused;
    }

    /** When the last bytes arrived from the client. */
    long lastInputNanos() {
        return lastInputNanos;
    }

    /** Whether reading is stopped until the budget lets the decoder go on. */
    boolean paused() {
        return paused;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        if (msg instanceof ByteBuf b && b.isReadable()) {
            lastInputNanos = System.nanoTime();
        }
        super.channelRead(ctx, msg);
        awaitRoomIfNeeded();
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        // Some steps consume no bytes (reserving a slot, a request without payload), and the caller
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
        pieced = type == CMD_WRITE && lengthBytes > pieceBytes && lengthBytes <= maxPayloadBytes;
        state = State.RESERVE;
    }

    private void reserve(List<Object> out) {
        if (type == CMD_DISC) {
            // The client must not send anything after DISC; whatever follows is ignored.
            out.add(request(null, false, false, 0));
            stop();
            return;
        }
        if (!budget.tryAcquireRequest(this::resumeAfterBudget)) {
            pause();
            return;
        }
        holdsSlot = true;
        if (type != CMD_WRITE || lengthBytes == 0) {
            emitWhole(out, null, false);
        } else if (lengthBytes > maxPayloadBytes) {
            skipRemainingBytes = lengthBytes;
            state = State.SKIP_PAYLOAD;
        } else {
            payloadDoneBytes = 0;
            pieceStartBytes = 0;
            state = State.PAYLOAD;
        }
    }

    /** Where the piece starting at {@code startBytes} of the payload ends (a piece boundary in device offsets). */
    private long pieceEnd(long startBytes) {
        if (!pieced) {
            return lengthBytes;
        }
        long intoPiece = Math.floorMod(offsetBytes + startBytes, (long) pieceBytes);
        return Math.min(lengthBytes, startBytes + pieceBytes - intoPiece);
    }

    private void decodePayload(ByteBuf in, List<Object> out) {
        long pieceEnd = pieceEnd(pieceStartBytes);
        int missing = (int) (pieceEnd - payloadDoneBytes);
        if (gathered == null) {
            if (in.readableBytes() >= missing) {
                budget.chargePayload(missing);
                payloadDoneBytes += missing;
                emitPayload(out, in.readRetainedSlice(missing));
                return;
            }
            if (missing < GATHER_THRESHOLD_BYTES || !in.isReadable()) {
                return;
            }
            gathered = payloadBuffers.compositeDirectBuffer(Integer.MAX_VALUE);
        }
        int n = Math.min(in.readableBytes(), missing);
        if (n == 0) {
            return;
        }
        if (n >= MIN_SLICE_BYTES || (n == missing && copied == null)) {
            addCopiedBytes();
            gathered.addComponent(true, in.readRetainedSlice(n));
        } else {
            copy(in, n);
        }
        budget.chargePayload(n);
        payloadDoneBytes += n;
        if (payloadDoneBytes < pieceEnd) {
            return;
        }
        emitPayload(out, takeGathered());
    }

    /** Copies {@code n} bytes into {@link #copied}, adding each chunk to the payload as it fills. */
    private void copy(ByteBuf in, int n) {
        int left = n;
        while (left > 0) {
            if (copied == null) {
                copied = payloadBuffers.directBuffer(COPY_CHUNK_BYTES, COPY_CHUNK_BYTES);
            }
            int k = Math.min(left, copied.writableBytes());
            copied.writeBytes(in, k);
            left -= k;
            if (!copied.isWritable()) {
                addCopiedBytes();
            }
        }
    }

    /** Appends the chunk being copied into to the payload (a composite sees a component's bytes as added). */
    private void addCopiedBytes() {
        if (copied != null) {
            gathered.addComponent(true, copied);
            copied = null;
        }
    }

    private ByteBuf takeGathered() {
        addCopiedBytes();
        ByteBuf payload = gathered;
        gathered = null;
        return payload;
    }

    private void skipPayload(ByteBuf in, List<Object> out) {
        int n = (int) Math.min(in.readableBytes(), skipRemainingBytes);
        in.skipBytes(n);
        skipRemainingBytes -= n;
        if (skipRemainingBytes == 0) {
            emitWhole(out, null, true);
        }
    }

    /** Hands on the payload gathered since the last piece: the whole request, or its next piece. */
    private void emitPayload(List<Object> out, ByteBuf payload) {
        if (!pieced) {
            budget.returnPayloadCredit();
            emitWhole(out, payload, false);
            return;
        }
        boolean first = piecedRequest == null;
        if (first) {
            piecedRequest = new NbdRequest(flags, type, cookie, offsetBytes, lengthBytes, null, false, 0, true, true);
            holdsSlot = false; // the handler answers the request now
        }
        boolean last = payloadDoneBytes == lengthBytes;
        out.add(new WritePiece(piecedRequest, offsetBytes + pieceStartBytes, payload, first, last));
        pieceStartBytes = payloadDoneBytes;
        if (last) {
            budget.returnPayloadCredit();
            piecedRequest = null;
            pieced = false;
            state = State.HEADER;
        }
    }

    private void emitWhole(List<Object> out, ByteBuf payload, boolean skipped) {
        out.add(request(payload, skipped, true, payload == null ? 0 : lengthBytes));
        holdsSlot = false;
        state = State.HEADER;
    }

    private NbdRequest request(ByteBuf payload, boolean skipped, boolean budgeted, long payloadBytes) {
        return new NbdRequest(
                flags, type, cookie, offsetBytes, lengthBytes, payload, skipped, payloadBytes, budgeted, false);
    }

    /**
     * After the decoder took what the socket gave: if a payload is still incomplete and the budget
     * has no room for more, stop reading until it has. When the server as a whole is full, what is
     * gathered goes to the device first, so that nothing held here waits for room.
     */
    private void awaitRoomIfNeeded() {
        if (paused || state != State.PAYLOAD || ctx == null || !ctx.channel().isActive()) {
            return;
        }
        ConnectionBudget.Room room = budget.payloadRoom();
        if (room == ConnectionBudget.Room.YES) {
            return;
        }
        if (room == ConnectionBudget.Room.SERVER_FULL && payloadDoneBytes > pieceStartBytes && gathered != null) {
            pieced = true;
            List<Object> out = new ArrayList<>(1);
            emitPayload(out, takeGathered());
            for (Object piece : out) {
                ctx.fireChannelRead(piece);
            }
        }
        pause();
        budget.awaitPayloadRoom(room, this::resumeAfterBudget);
    }

    private void pause() {
        if (!paused) {
            paused = true;
            ctx.channel().config().setAutoRead(false);
        }
    }

    private void resumeAfterBudget() {
        if (!paused
                || state == State.STOPPED
                || ctx == null
                || ctx.isRemoved()
                || !ctx.channel().isActive()) {
            return;
        }
        paused = false;
        ctx.channel().config().setAutoRead(true);
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
                super.channelRead(ctx, Unpooled.EMPTY_BUFFER);
            }
            ctx.fireChannelReadComplete();
            awaitRoomIfNeeded();
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

    /** Returns what the request being decoded holds; a pieced WRITE already handed on is the handler's. */
    private void abandonPartialRequest() {
        if (copied != null) {
            copied.release();
            copied = null;
        }
        if (gathered != null) {
            gathered.release();
            gathered = null;
        }
        if (state == State.PAYLOAD) {
            budget.releasePayload(payloadDoneBytes - pieceStartBytes);
            pieceStartBytes = payloadDoneBytes;
        }
        if (holdsSlot) {
            holdsSlot = false;
            budget.releaseRequest();
        }
        piecedRequest = null;
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
