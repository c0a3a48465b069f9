package io.raidd.nbd;

import static io.raidd.nbd.RequestDescriptor.CMD_DISC;
import static io.raidd.nbd.RequestDescriptor.CMD_READ;
import static io.raidd.nbd.RequestDescriptor.CMD_WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The request decoder alone: framing, slicing, gathering, skipping, backpressure. */
@ExtendWith(LeakCheck.class)
class NbdRequestDecoderTest {
    private static final int MAX_PAYLOAD = 1 << 20;

    private final DataBufferPool pool = new DataBufferPool(64L << 20);
    private SharedByteBudget shared = new SharedByteBudget(8L << 20);
    private EmbeddedChannel channel;
    private ConnectionBudget budget;
    private NbdRequestDecoder decoder;

    private void open(int maxRequests, long maxBytes) {
        channel = new EmbeddedChannel();
        budget = new ConnectionBudget(maxRequests, maxBytes, shared, channel.eventLoop());
        decoder = new NbdRequestDecoder(MAX_PAYLOAD, budget, pool);
        channel.pipeline().addLast(decoder);
    }

    @AfterEach
    void close() {
        if (channel != null) {
            NbdRequest r;
            while ((r = channel.readInbound()) != null) {
                r.releasePayload();
            }
            channel.finishAndReleaseAll();
        }
    }

    private NbdRequest next() {
        channel.runPendingTasks();
        return channel.readInbound();
    }

    private void done(NbdRequest r) {
        r.releasePayload();
        budget.release(r.budgetBytes());
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
        assertEquals(0, r.budgetBytes(), "an oversize read reserves nothing: it will be refused");
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
        assertEquals(0, shared.usedBytes());
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
    void largePayloadArrivingInSmallPiecesIsCopiedIntoOneBuffer() {
        open(16, 4 << 20);
        byte[] data = new byte[1 << 20];
        new Random(3).nextBytes(data);
        NbdRequest w = writeArrivingInPieces(data, 16 * 1024);
        assertTrue(w.payload().alloc() == pool, "gathered into a recycled buffer");
        assertEquals(1, w.payload().nioBufferCount());
        done(w);
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
    void byteBudgetCountsReadLengthsAndWritePayloads() {
        open(100, 1 << 20);
        ByteBuf in = Unpooled.buffer();
        in.writeBytes(EmbeddedNbd.header(0, CMD_READ, 1, 0, 600_000));
        in.writeBytes(EmbeddedNbd.header(0, CMD_READ, 2, 0, 600_000));
        channel.writeInbound(in);
        NbdRequest a = next();
        assertNull(next(), "1.2 MB would exceed the 1 MiB connection budget");
        assertEquals(600_000, budget.bytesInFlight());
        done(a);
        NbdRequest b = next();
        assertEquals(2, b.cookie);
        done(b);
    }

    @Test
    void sharedBudgetServesWaitingConnectionsInOrder() {
        shared = new SharedByteBudget(1 << 20);
        open(100, 1 << 20);
        EmbeddedChannel other = new EmbeddedChannel();
        ConnectionBudget otherBudget = new ConnectionBudget(100, 1 << 20, shared, other.eventLoop());
        other.pipeline().addLast(new NbdRequestDecoder(MAX_PAYLOAD, otherBudget, pool));
        try {
            channel.writeInbound(EmbeddedNbd.header(0, CMD_READ, 1, 0, 1 << 20));
            NbdRequest a = next();
            other.writeInbound(EmbeddedNbd.header(0, CMD_READ, 2, 0, 4096));
            assertNull(other.readInbound(), "the server-wide budget is exhausted");
            assertEquals(1, shared.waiting());
            done(a);
            other.runPendingTasks();
            NbdRequest b = other.readInbound();
            assertEquals(2, b.cookie);
            assertEquals(4096, shared.usedBytes());
            otherBudget.release(b.budgetBytes());
        } finally {
            other.finishAndReleaseAll();
        }
        assertEquals(0, shared.usedBytes());
    }

    @Test
    void closingWhileWaitingOrMidPayloadReturnsEverything() {
        shared = new SharedByteBudget(1 << 20);
        open(100, 1 << 20);
        channel.writeInbound(EmbeddedNbd.header(0, CMD_WRITE, 1, 0, 900_000));
        channel.writeInbound(Unpooled.wrappedBuffer(new byte[300_000]));
        assertNull(next());
        assertEquals(900_000, shared.usedBytes(), "payload reserved while it arrives");
        channel.close();
        channel.runPendingTasks();
        assertEquals(0, shared.usedBytes());
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
