package io.raidd.nbd;

import static io.raidd.nbd.RequestDescriptor.CMD_DISC;
import static io.raidd.nbd.RequestDescriptor.CMD_READ;
import static io.raidd.nbd.RequestDescriptor.CMD_WRITE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The request decoder alone: framing, slicing, gathering, pieces, skipping, backpressure. */
@ExtendWith(LeakCheck.class)
class NbdRequestDecoderTest {
    private static final int MAX_PAYLOAD = 4 << 20;
    private static final int PIECE = NbdRequestDecoder.pieceBytes(0);

    private final DataBufferPool pool = new DataBufferPool(64L << 20);
    private BufferBudget server = new BufferBudget(64L << 20);
    private EmbeddedChannel channel;
    private ConnectionBudget budget;
    private NbdRequestDecoder decoder;

    private void open(int maxRequests, long maxPayloadBytes) {
        channel = new EmbeddedChannel();
        budget = new ConnectionBudget(
                "test", maxRequests, 16 << 20, maxPayloadBytes, PIECE, server, channel.eventLoop());
        decoder = new NbdRequestDecoder(MAX_PAYLOAD, PIECE, budget, pool);
        channel.pipeline().addLast(decoder);
    }

    @AfterEach
    void close() {
        if (channel != null) {
            Object o;
            while ((o = channel.readInbound()) != null) {
                if (o instanceof NbdRequest r) {
                    r.releasePayload();
                } else {
                    ((WritePiece) o).releasePayload();
                }
            }
            channel.finishAndReleaseAll();
        }
    }

    private <T> T next() {
        channel.runPendingTasks();
        return channel.readInbound();
    }

    /** What the transmission handler does once a request is answered. */
    private void done(NbdRequest r) {
        r.releasePayload();
        budget.releaseRequest();
        budget.releasePayload(r.budgetBytes());
    }

    /** What the transmission handler does once a piece is written. */
    private void done(WritePiece p) {
        p.releasePayload();
        budget.releasePayload(p.lengthBytes);
        if (p.last) {
            budget.releaseRequest();
        }
    }

    @Test
    void headerArrivingByteByByteDecodesOnce() {
        open(16, 4 << 20);
        ByteBuf header = EmbeddedNbd.header(0x0001, CMD_READ, 0xfedcba9876543210L, 0xffff_ffff_0000L, 0xffff_0000L);
        while (header.isReadable()) {
            channel.writeInbound(header.readRetainedSlice(1));
            if (header.isReadable()) {
                assertNull(next());
            }
        }
        header.release();
        NbdRequest r = next();
        assertEquals(CMD_READ, r.type);
        assertEquals(1, r.flags);
        assertEquals(0xfedcba9876543210L, r.cookie);
        assertEquals(0xffff_ffff_0000L, r.offsetBytes);
        assertEquals(0xffff_0000L, r.lengthBytes, "length is unsigned");
        assertEquals(0, r.budgetBytes(), "a read holds no payload");
        done(r);
    }

    @Test
    void completePayloadIsSlicedFromTheReceiveBuffer() {
        open(16, 4 << 20);
        byte[] data = new byte[4096];
        new Random(1).nextBytes(data);
        ByteBuf in = Unpooled.directBuffer();
        in.writeBytes(EmbeddedNbd.header(0, CMD_WRITE, 5, 4096, data.length));
        in.writeBytes(data);
        in.writeBytes(EmbeddedNbd.header(0, CMD_READ, 6, 0, 512));
        channel.writeInbound(in);
        NbdRequest w = next();
        assertEquals(CMD_WRITE, w.type);
        byte[] got = new byte[data.length];
        w.payload().getBytes(w.payload().readerIndex(), got);
        assertTrue(java.util.Arrays.equals(data, got));
        assertTrue(w.payload().unwrap() != null, "a derived view, not a copy");
        assertEquals(4096, w.budgetBytes());
        NbdRequest r = next();
        assertEquals(6, r.cookie);
        done(w);
        done(r);
        assertEquals(0, server.usedBytes());
    }

    /** Sends a 1 MiB WRITE whose payload arrives in pieces of {@code pieceBytes}; returns it. */
    private NbdRequest writeArrivingInPieces(byte[] data, int pieceBytes) {
        channel.writeInbound(EmbeddedNbd.header(0, CMD_WRITE, 7, 0, data.length));
        for (int at = 0; at < data.length; at += pieceBytes) {
            channel.writeInbound(Unpooled.wrappedBuffer(data, at, pieceBytes));
            if (at + pieceBytes < data.length) {
                assertNull(next());
            }
        }
        NbdRequest w = next();
        assertEquals(data.length, w.payload().readableBytes());
        byte[] got = new byte[data.length];
        w.payload().getBytes(w.payload().readerIndex(), got);
        assertTrue(java.util.Arrays.equals(data, got));
        return w;
    }

    @Test
    void largePayloadArrivingInLargePiecesIsGatheredAsSlicesOfThem() {
        open(16, 4 << 20);
        byte[] data = new byte[1 << 20];
        new Random(2).nextBytes(data);
        NbdRequest w = writeArrivingInPieces(data, NbdRequestDecoder.MIN_SLICE_BYTES);
        assertTrue(
                w.payload() instanceof io.netty.buffer.CompositeByteBuf,
                "slices, not a copy: " + w.payload().getClass() + " "
                        + w.payload().nioBufferCount());
        assertEquals(16, w.payload().nioBufferCount());
        done(w);
    }

    @Test
    void largePayloadArrivingInSmallPiecesIsCopiedIntoChunks() {
        open(16, 4 << 20);
        byte[] data = new byte[1 << 20];
        new Random(3).nextBytes(data);
        NbdRequest w = writeArrivingInPieces(data, 16 * 1024);
        io.netty.buffer.CompositeByteBuf chunks = (io.netty.buffer.CompositeByteBuf) w.payload();
        assertEquals(data.length / NbdRequestDecoder.COPY_CHUNK_BYTES, chunks.numComponents());
        for (int i = 0; i < chunks.numComponents(); i++) {
            assertSame(pool, chunks.internalComponent(i).alloc(), "copied into recycled buffers");
        }
        done(w);
    }

    @Test
    void aSlowSenderHoldsWhatItSentNotWhatItAnnounced() {
        open(16, 4 << 20);
        channel.writeInbound(EmbeddedNbd.header(0, CMD_WRITE, 7, 0, 3 << 20));
        for (int i = 0; i < 1000; i++) {
            channel.writeInbound(Unpooled.wrappedBuffer(new byte[] {(byte) i}));
        }
        assertNull(next());
        assertEquals(1000, budget.payloadBytes());
        assertEquals(1000, server.usedBytes(), "3 MiB announced, 1000 bytes counted");
        channel.close();
        channel.runPendingTasks();
        assertEquals(0, server.usedBytes(), "returned when the connection goes");
    }

    @Test
    void oversizeWritePayloadIsSkippedNotBuffered() {
        open(16, 4 << 20);
        long length = MAX_PAYLOAD + 1L;
        channel.writeInbound(EmbeddedNbd.header(0, CMD_WRITE, 8, 0, length));
        byte[] chunk = new byte[65536];
        long sent = 0;
        while (sent < length) {
            int n = (int) Math.min(chunk.length, length - sent);
            channel.writeInbound(Unpooled.wrappedBuffer(chunk, 0, n));
            sent += n;
        }
        channel.writeInbound(EmbeddedNbd.header(0, CMD_READ, 9, 0, 512));
        NbdRequest w = next();
        assertTrue(w.payloadSkipped);
        assertNull(w.payload());
        assertEquals(0, w.budgetBytes());
        NbdRequest r = next();
        assertEquals(9, r.cookie, "the stream stays in sync");
        done(w);
        done(r);
    }

    @Test
    void aLongWriteIsHandedOnInPiecesEndingOnPieceBoundaries() {
        open(16, 64 << 20);
        byte[] data = new byte[3 << 20];
        new Random(4).nextBytes(data);
        long at = 512 * 1024;
        channel.writeInbound(EmbeddedNbd.header(0, CMD_WRITE, 9, at, data.length));
        for (int i = 0; i < data.length; i += 256 * 1024) {
            channel.writeInbound(Unpooled.wrappedBuffer(data, i, 256 * 1024));
        }
        List<WritePiece> pieces = new ArrayList<>();
        WritePiece p;
        while ((p = next()) != null) {
            pieces.add(p);
        }
        assertEquals(4, pieces.size());
        long[] starts = {at, PIECE, 2L * PIECE, 3L * PIECE};
        int from = 0;
        for (int i = 0; i < 4; i++) {
            p = pieces.get(i);
            assertEquals(starts[i], p.offsetBytes);
            assertEquals(i == 0, p.first);
            assertEquals(i == 3, p.last);
            assertSame(pieces.get(0).request, p.request);
            byte[] got = new byte[p.lengthBytes];
            p.payload().getBytes(p.payload().readerIndex(), got);
            assertArrayEquals(java.util.Arrays.copyOfRange(data, from, from + got.length), got);
            from += got.length;
        }
        assertEquals(data.length, from);
        assertEquals(data.length, server.usedBytes());
        assertEquals(9, pieces.get(0).request.cookie);
        assertNotNull(pieces.get(0).request.pieces);
        pieces.forEach(this::done);
        assertEquals(0, server.usedBytes());
        assertEquals(0, budget.requestsInFlight());
    }

    @Test
    void aFullServerMakesTheDecoderWriteOutWhatItGatheredAndWaitItsTurn() {
        server = new BufferBudget(4L << 20);
        open(16, 64 << 20);
        assertNull(server.acquireOrWait(3584L << 10, () -> {})); // others hold 3.5 of the 4 MiB
        channel.writeInbound(EmbeddedNbd.header(0, CMD_WRITE, 3, 0, 2 << 20));
        channel.writeInbound(Unpooled.wrappedBuffer(new byte[512 * 1024]));
        WritePiece first = next();
        assertEquals(512 * 1024, first.lengthBytes, "what was gathered goes to the device instead of waiting");
        assertTrue(first.first);
        assertFalse(first.last);
        assertFalse(channel.config().isAutoRead(), "reading stops at the ceiling");
        assertTrue(decoder.paused());
        done(first);
        channel.runPendingTasks();
        assertTrue(channel.config().isAutoRead(), "resumed with a credit once room was granted");
        server.release(3584L << 10);
        channel.writeInbound(Unpooled.wrappedBuffer(new byte[3 << 19]));
        WritePiece second = next();
        assertEquals(512 * 1024, second.offsetBytes);
        assertEquals(512 * 1024, second.lengthBytes, "the next piece ends on the piece boundary");
        WritePiece rest = next();
        assertTrue(rest.last);
        assertEquals(1 << 20, rest.offsetBytes);
        done(second);
        done(rest);
        assertEquals(0, server.usedBytes(), "the credit's remainder went back with the last piece");
    }

    @Test
    void aConnectionAtItsPayloadLimitStopsReadingUntilItsWritesFinish() {
        open(16, 1 << 20);
        ByteBuf in = Unpooled.buffer();
        for (int i = 0; i < 3; i++) {
            in.writeBytes(EmbeddedNbd.header(0, CMD_WRITE, i, 0, 512 * 1024));
            in.writeBytes(new byte[512 * 1024]);
        }
        channel.writeInbound(in.readRetainedSlice(in.readableBytes() - 1000));
        NbdRequest a = next();
        NbdRequest b = next();
        assertNull(next());
        assertFalse(channel.config().isAutoRead(), "1 MiB held: the connection's limit");
        assertEquals(ConnectionBudget.Room.CONNECTION_FULL, budget.payloadRoom());
        done(a);
        channel.runPendingTasks();
        assertTrue(channel.config().isAutoRead());
        channel.writeInbound(in);
        NbdRequest c = next();
        assertEquals(2, c.cookie);
        done(b);
        done(c);
        assertEquals(0, server.usedBytes());
    }

    @Test
    void readingStopsWhenTheConnectionBudgetIsFullAndResumesOnRelease() {
        open(2, 4 << 20);
        ByteBuf in = Unpooled.buffer();
        for (int i = 0; i < 3; i++) {
            in.writeBytes(EmbeddedNbd.header(0, CMD_READ, i, 0, 512));
        }
        channel.writeInbound(in);
        NbdRequest a = next();
        NbdRequest b = next();
        assertNull(next(), "third request waits for budget");
        assertFalse(channel.config().isAutoRead(), "socket reads stop");
        assertEquals(NbdRequestDecoder.State.RESERVE, decoder.state());
        done(a);
        NbdRequest c = next();
        assertEquals(2, c.cookie, "resumes from what was already buffered");
        assertTrue(channel.config().isAutoRead());
        done(b);
        done(c);
    }

    @Test
    void closingMidPayloadReturnsEverything() {
        open(100, 4 << 20);
        channel.writeInbound(EmbeddedNbd.header(0, CMD_WRITE, 1, 0, 900_000));
        channel.writeInbound(Unpooled.wrappedBuffer(new byte[300_000]));
        assertNull(next());
        assertEquals(300_000, server.usedBytes(), "what arrived is counted");
        assertEquals(1, budget.requestsInFlight());
        channel.close();
        channel.runPendingTasks();
        assertEquals(0, server.usedBytes());
        assertEquals(0, budget.requestsInFlight());
        budget.close();
    }

    @Test
    void discStopsDecodingAndLaterBytesAreIgnored() {
        open(16, 4 << 20);
        ByteBuf in = Unpooled.buffer();
        in.writeBytes(EmbeddedNbd.header(0, CMD_DISC, 1, 0, 0));
        in.writeBytes(EmbeddedNbd.header(0, CMD_READ, 2, 0, 512));
        channel.writeInbound(in);
        NbdRequest disc = next();
        assertEquals(CMD_DISC, disc.type);
        assertFalse(disc.budgeted());
        assertNull(next());
        assertSame(NbdRequestDecoder.State.STOPPED, decoder.state());
        assertFalse(channel.config().isAutoRead());
    }

    @Test
    void badMagicIsADecoderException() {
        open(16, 4 << 20);
        ByteBuf bad = EmbeddedNbd.header(0, CMD_READ, 1, 0, 512);
        bad.setInt(0, 0x12345678);
        assertThrows(DecoderException.class, () -> channel.writeInbound(bad));
        assertSame(NbdRequestDecoder.State.STOPPED, decoder.state());
    }
}
