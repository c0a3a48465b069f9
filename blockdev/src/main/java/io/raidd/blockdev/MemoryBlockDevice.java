package io.raidd.blockdev;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * A sparse in-memory device for fast tests. Storage is allocated in pages on first write, so a
 * large device that is mostly untouched costs little; unallocated pages read as zeroes and are
 * reported as holes.
 */
public final class MemoryBlockDevice implements BlockDevice {
    private static final int PAGE_SHIFT = 16;
    private static final int PAGE_BYTES = 1 << PAGE_SHIFT;

    private static final byte[] ZERO_PAGE = new byte[PAGE_BYTES];

    private final long sizeBytes;
    private final int logicalBlockSizeBytes;
    private final AtomicReferenceArray<byte[]> pages;
    private volatile boolean closed;

    public MemoryBlockDevice(long sizeBytes) {
        this(sizeBytes, 512);
    }

    public MemoryBlockDevice(long sizeBytes, int logicalBlockSizeBytes) {
        if (sizeBytes < 0 || (sizeBytes >> PAGE_SHIFT) >= Integer.MAX_VALUE) {
            throw new IllegalArgumentException("unsupported size " + sizeBytes);
        }
        this.sizeBytes = sizeBytes;
        this.logicalBlockSizeBytes = logicalBlockSizeBytes;
        this.pages = new AtomicReferenceArray<>((int) ((sizeBytes + PAGE_BYTES - 1) >> PAGE_SHIFT));
    }

    @Override
    public long sizeBytes() {
        return sizeBytes;
    }

    @Override
    public int logicalBlockSizeBytes() {
        return logicalBlockSizeBytes;
    }

    /** Everything is in memory: a plain read, unless closed. */
    @Override
    public boolean readIfCached(long offsetBytes, ByteBuffer dst) {
        if (closed || offsetBytes < 0 || offsetBytes > sizeBytes - dst.remaining()) {
            return false;
        }
        try {
            read(offsetBytes, dst);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    @Override
    public void read(long offsetBytes, ByteBuffer dst) throws IOException {
        ensureOpen();
        checkRange(offsetBytes, dst.remaining());
        long pos = offsetBytes;
        while (dst.hasRemaining()) {
            int pageIndex = (int) (pos >>> PAGE_SHIFT);
            int inPage = (int) (pos & (PAGE_BYTES - 1));
            int n = Math.min(dst.remaining(), PAGE_BYTES - inPage);
            byte[] page = pages.get(pageIndex);
            if (page == null) {
                for (int i = 0; i < n; i++) {
                    dst.put((byte) 0);
                }
            } else {
                dst.put(page, inPage, n);
            }
            pos += n;
        }
    }

    @Override
    public void write(long offsetBytes, ByteBuffer src) throws IOException {
        ensureOpen();
        checkRange(offsetBytes, src.remaining());
        long pos = offsetBytes;
        while (src.hasRemaining()) {
            int pageIndex = (int) (pos >>> PAGE_SHIFT);
            int inPage = (int) (pos & (PAGE_BYTES - 1));
            int n = Math.min(src.remaining(), PAGE_BYTES - inPage);
            src.get(pageFor(pageIndex), inPage, n);
            pos += n;
        }
    }

    private byte[] pageFor(int pageIndex) {
        byte[] page = pages.get(pageIndex);
        if (page == null) {
            byte[] fresh = new byte[PAGE_BYTES];
            page = pages.compareAndExchange(pageIndex, null, fresh);
            if (page == null) {
                page = fresh;
            }
        }
        return page;
    }

    @Override
    public void flush() throws IOException {
        ensureOpen();
    }

    @Override
    public void discard(long offsetBytes, long lengthBytes) throws IOException {
        writeZeroes(offsetBytes, lengthBytes);
    }

    @Override
    public void writeZeroes(long offsetBytes, long lengthBytes) throws IOException {
        ensureOpen();
        checkRange(offsetBytes, lengthBytes);
        long pos = offsetBytes;
        long end = offsetBytes + lengthBytes;
        while (pos < end) {
            int pageIndex = (int) (pos >>> PAGE_SHIFT);
            int inPage = (int) (pos & (PAGE_BYTES - 1));
            int n = (int) Math.min(end - pos, PAGE_BYTES - inPage);
            if (n == PAGE_BYTES) {
                pages.set(pageIndex, null);
            } else {
                byte[] page = pages.get(pageIndex);
                if (page != null) {
                    java.util.Arrays.fill(page, inPage, inPage + n, (byte) 0);
                }
            }
            pos += n;
        }
    }

    @Override
    public long nextHoleBytes(long offsetBytes) throws IOException {
        ensureOpen();
        checkRange(offsetBytes, 0);
        long pos = offsetBytes;
        while (pos < sizeBytes && pages.get((int) (pos >>> PAGE_SHIFT)) != null) {
            pos = ((pos >>> PAGE_SHIFT) + 1) << PAGE_SHIFT;
        }
        return Math.min(pos, sizeBytes);
    }

    @Override
    public List<Extent> allocation(long offsetBytes, long lengthBytes) throws IOException {
        ensureOpen();
        checkRange(offsetBytes, lengthBytes);
        List<Extent> extents = new ArrayList<>();
        long pos = offsetBytes;
        long end = offsetBytes + lengthBytes;
        while (pos < end) {
            boolean hole = pages.get((int) (pos >>> PAGE_SHIFT)) == null;
            long runEnd = pos;
            while (runEnd < end && (pages.get((int) (runEnd >>> PAGE_SHIFT)) == null) == hole) {
                runEnd = Math.min(end, ((runEnd >>> PAGE_SHIFT) + 1) << PAGE_SHIFT);
            }
            extents.add(new Extent(pos, runEnd - pos, hole, hole));
            pos = runEnd;
        }
        return extents;
    }

    @Override
    public void close() {
        closed = true;
    }

    private void ensureOpen() throws IOException {
        if (closed) {
            throw new IOException("memory device is closed");
        }
    }
}
