package io.raidd.nbd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.raidd.nbd.RawNbdClient.Chunk;
import io.raidd.nbd.RawNbdClient.ReadResult;
import io.raidd.nbd.RawNbdClient.SimpleReply;
import java.io.DataInputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;

/** Parses transmission replies from a stream, checking the protocol's rules as it goes. */
final class ReplyReader {
    private final DataInputStream in;

    ReplyReader(DataInputStream in) {
        this.in = in;
    }

    /** Reads a simple reply, expecting {@code dataLengthIfOk} bytes of data if the error is 0. */
    SimpleReply readSimpleReply(int dataLengthIfOk) throws IOException {
        assertEquals(SimpleReplyDescriptor.MAGIC, in.readInt(), "simple reply magic");
        int error = in.readInt();
        long cookie = in.readLong();
        byte[] data = new byte[error == 0 ? dataLengthIfOk : 0];
        in.readFully(data);
        return new SimpleReply(cookie, error, data);
    }

    /** Reads whatever reply message comes next: a simple reply (no data) or one structured chunk. */
    Object readMessage() throws IOException {
        int magic = in.readInt();
        if (magic == SimpleReplyDescriptor.MAGIC) {
            int error = in.readInt();
            long cookie = in.readLong();
            return new SimpleReply(cookie, error, new byte[0]);
        }
        assertEquals(StructuredReplyDescriptor.MAGIC, magic, "reply magic");
        return readChunkAfterMagic();
    }

    Chunk readChunk() throws IOException {
        assertEquals(StructuredReplyDescriptor.MAGIC, in.readInt(), "structured reply magic");
        return readChunkAfterMagic();
    }

    private Chunk readChunkAfterMagic() throws IOException {
        int flags = in.readUnsignedShort();
        int type = in.readUnsignedShort();
        long cookie = in.readLong();
        int length = in.readInt();
        assertTrue(length >= 0 && length <= (64 << 20) + 8, "chunk length " + length);
        byte[] payload = new byte[length];
        in.readFully(payload);
        return new Chunk(flags, type, cookie, payload);
    }

    /** Reads the chunks of one structured reply, which must not interleave with others. */
    List<Chunk> readStructuredReply(long cookie) throws IOException {
        List<Chunk> chunks = new ArrayList<>();
        while (true) {
            Chunk c = readChunk();
            assertEquals(cookie, c.cookie(), "cookie");
            chunks.add(c);
            if (c.done()) {
                return chunks;
            }
        }
    }

    /**
     * Reassembles the chunks of a structured READ, checking the protocol's rules: content inside the
     * request, no overlap, full coverage on success.
     */
    static ReadResult assemble(List<Chunk> chunks, long offset, int length) {
        byte[] data = new byte[length];
        BitSet covered = new BitSet(length);
        int errno = 0;
        int dataChunks = 0;
        int holeChunks = 0;
        for (Chunk c : chunks) {
            java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(c.payload());
            switch (c.type()) {
                case StructuredReplyDescriptor.TYPE_NONE -> assertEquals(0, c.payload().length);
                case StructuredReplyDescriptor.TYPE_OFFSET_DATA -> {
                    long at = b.getLong() - offset;
                    int n = c.payload().length - 8;
                    assertTrue(n > 0 && at >= 0 && at + n <= length, "data chunk inside request");
                    assertTrue(covered.get((int) at, (int) at + n).isEmpty(), "overlapping chunk");
                    covered.set((int) at, (int) at + n);
                    System.arraycopy(c.payload(), 8, data, (int) at, n);
                    dataChunks++;
                }
                case StructuredReplyDescriptor.TYPE_OFFSET_HOLE -> {
                    assertEquals(12, c.payload().length);
                    long at = b.getLong() - offset;
                    int n = b.getInt();
                    assertTrue(n > 0 && at >= 0 && at + n <= length, "hole chunk inside request");
                    assertTrue(covered.get((int) at, (int) at + n).isEmpty(), "overlapping chunk");
                    covered.set((int) at, (int) at + n);
                    holeChunks++;
                }
                case StructuredReplyDescriptor.TYPE_ERROR, StructuredReplyDescriptor.TYPE_ERROR_OFFSET -> {
                    errno = b.getInt();
                    assertTrue(errno != 0);
                }
                default -> fail("unexpected chunk type " + c.type());
            }
        }
        assertTrue(chunks.get(chunks.size() - 1).done(), "last chunk DONE");
        if (errno == 0) {
            assertEquals(length, covered.cardinality(), "read fully covered");
        }
        return new ReadResult(data, errno, dataChunks, holeChunks);
    }

    /** The error of the next reply to a payload-less command: simple reply or single final chunk. */
    int errorOfNextReply(long cookie) throws IOException {
        Object m = readMessage();
        if (m instanceof SimpleReply s) {
            assertEquals(cookie, s.cookie());
            return s.error();
        }
        Chunk c = (Chunk) m;
        assertEquals(cookie, c.cookie());
        assertTrue(c.done(), "single final chunk expected");
        if (c.type() == StructuredReplyDescriptor.TYPE_NONE) {
            return 0;
        }
        assertTrue((c.type() & 0x8000) != 0, "error chunk expected, got type " + c.type());
        return c.errno();
    }
}
