package io.raidd.testimages;

import io.raidd.blockdev.BlockDevice;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * The model in model-based tests: what a volume must contain, as a plain byte array. Writes are
 * applied to the model after the device acknowledged them; reads are compared with a message that
 * names the first differing byte.
 */
public final class ReferenceVolume {
    private final byte[] bytes;

    public ReferenceVolume(long sizeBytes) {
        if (sizeBytes > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("reference volume too large: " + sizeBytes);
        }
        this.bytes = new byte[(int) sizeBytes];
    }

    public long sizeBytes() {
        return bytes.length;
    }

    public void write(long offsetBytes, byte[] data) {
        System.arraycopy(data, 0, bytes, (int) offsetBytes, data.length);
    }

    public void zero(long offsetBytes, long lengthBytes) {
        Arrays.fill(bytes, (int) offsetBytes, (int) (offsetBytes + lengthBytes), (byte) 0);
    }

    public byte[] expected(long offsetBytes, int lengthBytes) {
        return Arrays.copyOfRange(bytes, (int) offsetBytes, (int) offsetBytes + lengthBytes);
    }

    /** Reads the range from {@code device} and throws AssertionError at the first difference. */
    public void verify(BlockDevice device, long offsetBytes, int lengthBytes, String context) throws IOException {
        ByteBuffer actual = ByteBuffer.allocate(lengthBytes);
        device.read(offsetBytes, actual);
        verify(actual.array(), offsetBytes, context);
    }

    /** Compares bytes read at {@code offsetBytes} with the model. */
    public void verify(byte[] actual, long offsetBytes, String context) {
        int mismatch =
                Arrays.mismatch(actual, 0, actual.length, bytes, (int) offsetBytes, (int) offsetBytes + actual.length);
        if (mismatch >= 0) {
            throw new AssertionError(context + ": first mismatch at volume offset " + (offsetBytes + mismatch)
                    + " (read " + actual.length + " bytes at " + offsetBytes + "): expected "
                    + (bytes[(int) offsetBytes + mismatch] & 0xff) + ", got " + (actual[mismatch] & 0xff));
        }
    }

    /** Reads the whole device in {@code stepBytes} pieces and compares. */
    public void verifyAll(BlockDevice device, int stepBytes, String context) throws IOException {
        for (long pos = 0; pos < bytes.length; pos += stepBytes) {
            verify(device, pos, (int) Math.min(stepBytes, bytes.length - pos), context);
        }
    }
}
