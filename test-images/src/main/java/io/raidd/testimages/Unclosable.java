package io.raidd.testimages;

import io.raidd.blockdev.BlockDevice;
import io.raidd.blockdev.Extent;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

/** A device that outlives the volume that closes it, so a test can assemble its members again. */
public final class Unclosable implements BlockDevice {
    private final BlockDevice inner;

    public Unclosable(BlockDevice inner) {
        this.inner = inner;
    }

    BlockDevice inner() {
        return inner;
    }

    @Override
    public long sizeBytes() {
        return inner.sizeBytes();
    }

    @Override
    public int logicalBlockSizeBytes() {
        return inner.logicalBlockSizeBytes();
    }

    @Override
    public void read(long offsetBytes, ByteBuffer dst) throws IOException {
        inner.read(offsetBytes, dst);
    }

    @Override
    public void write(long offsetBytes, ByteBuffer src) throws IOException {
        inner.write(offsetBytes, src);
    }

    @Override
    public void flush() throws IOException {
        inner.flush();
    }

    @Override
    public void discard(long offsetBytes, long lengthBytes) throws IOException {
        inner.discard(offsetBytes, lengthBytes);
    }

    @Override
    public void writeZeroes(long offsetBytes, long lengthBytes) throws IOException {
        inner.writeZeroes(offsetBytes, lengthBytes);
    }

    @Override
    public List<Extent> allocation(long offsetBytes, long lengthBytes) throws IOException {
        return inner.allocation(offsetBytes, lengthBytes);
    }

    @Override
    public long nextHoleBytes(long offsetBytes) throws IOException {
        return inner.nextHoleBytes(offsetBytes);
    }

    @Override
    public void close() {}
}
