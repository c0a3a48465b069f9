package io.raidd.cli.control;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Deque;
import java.util.Random;
import org.junit.jupiter.api.Test;

class LineBufferTest {

    /** A channel that hands out the given chunks, one per read, then end of stream. */
    private static final class Chunks implements ReadableByteChannel {
        private final Deque<byte[]> chunks = new ArrayDeque<>();
        private byte[] current = new byte[0];
        private int at;

        Chunks add(byte[] b) {
            chunks.add(b);
            return this;
        }

        Chunks add(String s) {
            return add(s.getBytes(StandardCharsets.UTF_8));
        }

        @Override
        public int read(ByteBuffer dst) {
            if (at == current.length) {
                if (chunks.isEmpty()) {
                    return -1;
                }
                current = chunks.poll();
                at = 0;
            }
            int n = Math.min(dst.remaining(), current.length - at);
            dst.put(current, at, n);
            at += n;
            return n;
        }

        @Override
        public boolean isOpen() {
            return true;
        }

        @Override
        public void close() {}
    }

    private static byte[] next(LineBuffer b, ReadableByteChannel ch) throws IOException {
        while (true) {
            byte[] line = b.nextLine();
            if (line != null) {
                return line;
            }
            if (b.readFrom(ch) < 0) {
                return null;
            }
        }
    }

    @Test
    void cutsLinesAcrossReadsAndDropsCarriageReturns() throws IOException {
        Chunks ch = new Chunks().add("{\"a\"").add(":1}\r\n{\"b\":2}\n\n").add("tail");
        LineBuffer b = new LineBuffer(100);
        assertEquals("{\"a\":1}", new String(next(b, ch), StandardCharsets.UTF_8));
        assertEquals("{\"b\":2}", new String(next(b, ch), StandardCharsets.UTF_8));
        assertEquals("", new String(next(b, ch), StandardCharsets.UTF_8));
        assertNull(next(b, ch));
        assertTrue(b.hasPartialLine(), "'tail' never ended");
    }

    @Test
    void aLineOfExactlyTheLimitIsAcceptedOneByteMoreIsNot() throws IOException {
        byte[] max = new byte[1000];
        Arrays.fill(max, (byte) 'x');
        LineBuffer b = new LineBuffer(1000);
        Chunks ch = new Chunks().add(max).add("\r\n");
        assertArrayEquals(max, next(b, ch));
        assertFalse(b.hasPartialLine());

        LineBuffer tooLong = new LineBuffer(1000);
        Chunks longer = new Chunks().add(max).add("x\n");
        assertThrows(LineBuffer.LineTooLongException.class, () -> next(tooLong, longer));
    }

    @Test
    void anEndlessLineIsRefusedOnceItPassesTheLimitNotWhenItEnds() {
        LineBuffer b = new LineBuffer(64 * 1024);
        ReadableByteChannel endless = new ReadableByteChannel() {
            long served;

            @Override
            public int read(ByteBuffer dst) {
                int n = dst.remaining();
                served += n;
                if (served > 1 << 20) {
                    throw new AssertionError("read far past the limit");
                }
                dst.position(dst.limit());
                return n;
            }

            @Override
            public boolean isOpen() {
                return true;
            }

            @Override
            public void close() {}
        };
        assertThrows(LineBuffer.LineTooLongException.class, () -> next(b, endless));
    }

    @Test
    void randomChunkingGivesTheSameLines() throws IOException {
        long seed = System.nanoTime();
        System.out.println("LineBufferTest seed " + seed);
        Random r = new Random(seed);
        StringBuilder text = new StringBuilder();
        int lines = 200;
        for (int i = 0; i < lines; i++) {
            text.append("line ")
                    .append(i)
                    .append(" ")
                    .append("y".repeat(r.nextInt(300)))
                    .append(r.nextBoolean() ? "\r\n" : "\n");
        }
        byte[] all = text.toString().getBytes(StandardCharsets.UTF_8);
        Chunks ch = new Chunks();
        for (int at = 0; at < all.length; ) {
            int n = Math.min(all.length - at, 1 + r.nextInt(700));
            ch.add(Arrays.copyOfRange(all, at, at + n));
            at += n;
        }
        LineBuffer b = new LineBuffer(400);
        for (int i = 0; i < lines; i++) {
            String line = new String(next(b, ch), StandardCharsets.UTF_8);
            assertTrue(line.startsWith("line " + i + " "), "seed " + seed + ": " + line);
            assertFalse(line.endsWith("\r"), "seed " + seed);
        }
        assertNull(next(b, ch));
    }
}
