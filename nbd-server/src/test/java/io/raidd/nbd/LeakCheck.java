package io.raidd.nbd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.util.List;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Fails a test class when Netty reported a leaked buffer while it ran. Leaks surface only after
 * the leaked buffer is garbage-collected and the detector polls its reference queue on a later
 * allocation, so this collects garbage and allocates a few tracked buffers before asking.
 */
public final class LeakCheck implements AfterAllCallback {
    private static final int ROUNDS = 5;
    private static final int ALLOCATIONS_PER_ROUND = 64;

    @Override
    public void afterAll(ExtensionContext context) {
        assertTrue(
                RecordingLeakDetector.installed(),
                "run tests with -Dio.netty.customResourceLeakDetector=" + RecordingLeakDetector.class.getName());
        for (int round = 0; round < ROUNDS; round++) {
            System.gc();
            for (int i = 0; i < ALLOCATIONS_PER_ROUND; i++) {
                touch(PooledByteBufAllocator.DEFAULT);
                touch(UnpooledByteBufAllocator.DEFAULT);
                touch(ByteBufAllocator.DEFAULT);
            }
        }
        List<String> leaks = RecordingLeakDetector.drainLeaks();
        assertEquals(List.of(), leaks, "Netty reported leaked buffers");
    }

    private static void touch(ByteBufAllocator alloc) {
        ByteBuf a = alloc.directBuffer(16);
        ByteBuf b = alloc.heapBuffer(16);
        a.release();
        b.release();
    }
}
