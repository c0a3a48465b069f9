package io.raidd.cli.control;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.util.Arrays;

/**
 * Bytes read from a channel, cut into lines at {@code '\n'} (a {@code '\r'} before it is dropped).
 * Memory is bounded by the longest line allowed: a line that has not ended within that many bytes
 * is refused as soon as that is known, without reading the rest of it.
 */
final class LineBuffer {
    /** A line went on past the limit. */
    static final class LineTooLongException extends IOException {
        LineTooLongException(int maxLineBytes) {
            super("line longer than " + maxLineBytes + " bytes");
        }
    }

    private final int maxLineBytes;
    private final int capacityLimit;
    private byte[] data;
    private int start;
    private int end;
    private int scanned;

    LineBuffer(int maxLineBytes) {
        this.maxLineBytes = maxLineBytes;
        // The longest line plus "\r\n".
        this.capacityLimit = maxLineBytes + 2;
        this.data = new byte[Math.min(8192, capacityLimit)];
    }

    /** One read from the channel into the buffer: bytes read, 0 when none were ready, -1 at end of stream. */
    int readFrom(ReadableByteChannel channel) throws IOException {
        if (end == data.length) {
            makeRoom();
        }
        int n = channel.read(ByteBuffer.wrap(data, end, data.length - end));
        if (n > 0) {
            end += n;
        }
        return n;
    }

    /** The next complete line (without its end), or null when none is complete yet. */
    byte[] nextLine() throws LineTooLongException {
        for (int i = scanned; i < end; i++) {
            if (data[i] == '\n') {
                int lineEnd = i > start && data[i - 1] == '\r' ? i - 1 : i;
                if (lineEnd - start > maxLineBytes) {
                    throw new LineTooLongException(maxLineBytes);
                }
                byte[] line = Arrays.copyOfRange(data, start, lineEnd);
                start = i + 1;
                scanned = start;
                return line;
            }
        }
        scanned = end;
        // maxLineBytes plus a '\r' that a '\n' may still follow.
        if (end - start > maxLineBytes + 1) {
            throw new LineTooLongException(maxLineBytes);
        }
        return null;
    }

    /** Whether part of a line has arrived. */
    boolean hasPartialLine() {
        return end > start;
    }

    private void makeRoom() throws LineTooLongException {
        if (start > 0) {
            System.arraycopy(data, start, data, 0, end - start);
            end -= start;
            scanned -= start;
            start = 0;
        }
        if (end == data.length) {
            if (data.length >= capacityLimit) {
                throw new LineTooLongException(maxLineBytes);
            }
            data = Arrays.copyOf(data, (int) Math.min((long) data.length * 2, capacityLimit));
        }
    }
}
