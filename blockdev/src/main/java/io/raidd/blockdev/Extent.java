package io.raidd.blockdev;

/**
 * A run of bytes with uniform allocation state.
 *
 * @param hole the bytes are not allocated on the backing store (a write may need space)
 * @param zero the bytes are known to read as zeroes
 */
public record Extent(long offsetBytes, long lengthBytes, boolean hole, boolean zero) {
    public Extent {
        if (offsetBytes < 0 || lengthBytes <= 0) {
            throw new IllegalArgumentException("bad extent " + offsetBytes + "+" + lengthBytes);
        }
    }

    public long endBytes() {
        return offsetBytes + lengthBytes;
    }
}
