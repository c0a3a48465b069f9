package io.raidd.nbd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(LeakCheck.class)
class DataBufferPoolTest {
    @Test
    void sizeClassesRoundUpToSixtyFourKibThenOneMibAboveOneMibAndAHeader() {
        assertEquals(64 << 10, DataBufferPool.sizeClass(1));
        assertEquals(64 << 10, DataBufferPool.sizeClass(64 << 10));
        assertEquals(128 << 10, DataBufferPool.sizeClass((64 << 10) + 1));
        assertEquals(1 << 20, DataBufferPool.sizeClass(1 << 20));
        assertEquals((1 << 20) + (64 << 10), DataBufferPool.sizeClass((1 << 20) + 28), "a slice and its header");
        assertEquals(2 << 20, DataBufferPool.sizeClass((1 << 20) + (64 << 10) + 1));
        assertEquals(33 << 20, DataBufferPool.sizeClass((32 << 20) + 28));
    }

    @Test
    void releasedMemoryIsHandedOutAgain() {
        DataBufferPool pool = new DataBufferPool(8 << 20);
        ByteBuf a = pool.directBuffer(1 << 20);
        a.writeInt(42);
        long address = a.memoryAddress();
        assertEquals(0, a.readerIndex());
        assertEquals(4, a.writerIndex());
        assertTrue(a.capacity() >= 1 << 20);
        a.release();
        assertEquals(1 << 20, pool.idleBytes());
        ByteBuf b = pool.directBuffer(1000 << 10);
        assertEquals(address, b.memoryAddress(), "same memory, same size class");
        assertEquals(0, b.writerIndex(), "handed out empty");
        assertEquals(0, pool.idleBytes());
        ByteBuf c = pool.directBuffer(1 << 20);
        assertNotEquals(address, c.memoryAddress());
        b.release();
        c.release();
        assertEquals(2 << 20, pool.idleBytes());
    }

    @Test
    void idleMemoryIsCapped() {
        DataBufferPool pool = new DataBufferPool(3 << 20);
        ByteBuf[] bufs = new ByteBuf[5];
        for (int i = 0; i < bufs.length; i++) {
            bufs[i] = pool.directBuffer(1 << 20);
        }
        for (ByteBuf b : bufs) {
            b.release();
        }
        assertEquals(3 << 20, pool.idleBytes(), "the rest went back to the system");
    }

    @Test
    void pooledBuffersDoNotGrow() {
        DataBufferPool pool = new DataBufferPool(1 << 20);
        ByteBuf b = pool.directBuffer(100);
        try {
            assertThrows(IndexOutOfBoundsException.class, () -> b.writeZero(b.capacity() + 1));
        } finally {
            b.release();
        }
    }
}
