package io.raidd.raid.volume;

import java.util.ArrayList;
import java.util.List;

/**
 * The part of a volume request that falls in one chunk.
 *
 * @param chunk volume chunk number
 * @param inChunkBytes offset of the piece inside the chunk
 * @param lengthBytes piece length
 * @param bufferOffsetBytes where the piece starts relative to the request's first byte
 */
record Piece(long chunk, int inChunkBytes, int lengthBytes, int bufferOffsetBytes) {

    int endInChunkBytes() {
        return inChunkBytes + lengthBytes;
    }

    /** Cuts {@code [offsetBytes, offsetBytes + lengthBytes)} at chunk boundaries. */
    static List<Piece> split(long offsetBytes, long lengthBytes, int chunkBytes) {
        List<Piece> pieces = new ArrayList<>((int) Math.min(1024, lengthBytes / chunkBytes + 2));
        long pos = offsetBytes;
        long end = offsetBytes + lengthBytes;
        while (pos < end) {
            long chunk = pos / chunkBytes;
            int in = (int) (pos - chunk * chunkBytes);
            int n = (int) Math.min(end - pos, chunkBytes - in);
            pieces.add(new Piece(chunk, in, n, (int) (pos - offsetBytes)));
            pos += n;
        }
        return pieces;
    }
}
