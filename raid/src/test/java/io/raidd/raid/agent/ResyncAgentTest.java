package io.raidd.raid.agent;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raidd.blockdev.MemoryBlockDevice;
import io.raidd.raid.layout.Geometry;
import io.raidd.raid.volume.RaidVolume;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ResyncAgentTest {
    private static final int CHUNK = 16 * 1024;
    private static final long MEMBER_BYTES = 64L * CHUNK;
    private static final long DATA_OFFSET = 8192;

    static byte[] random(int length, long seed) {
        byte[] data = new byte[length];
        new Random(seed).nextBytes(data);
        return data;
    }

    @Test
    void resyncAfterUncleanShutdownRepairsStaleParity() throws IOException {
        Geometry g = Geometry.of(6, Geometry.defaultLayout(6), CHUNK, 5, MEMBER_BYTES);
        List<MemoryBlockDevice> mem = new ArrayList<>();
        RaidVolume.Builder b = RaidVolume.builder("t", g);
        for (int slot = 0; slot < 5; slot++) {
            mem.add(new MemoryBlockDevice(DATA_OFFSET + MEMBER_BYTES));
            b.member(slot, "d" + slot, mem.get(slot), DATA_OFFSET);
        }
        byte[] data = random((int) g.volumeSizeBytes(), 11);
        // The first run "crashes": written and flushed, never closed, so never marked clean.
        RaidVolume crashed = b.build();
        crashed.write(0, ByteBuffer.wrap(data));
        crashed.flush();
        // A crash between data and parity writes: stale P and Q in stripe 7.
        int p = g.parityLayout().pDisk(7);
        int q = g.parityLayout().qDisk(7);
        mem.get(p).write(DATA_OFFSET + 7L * CHUNK, ByteBuffer.wrap(random(CHUNK, 12)));
        mem.get(q).write(DATA_OFFSET + 7L * CHUNK + 100, ByteBuffer.wrap(random(10, 13)));
        RaidVolume.Builder again = RaidVolume.builder("t", g).clean(false);
        for (int slot = 0; slot < 5; slot++) {
            again.member(slot, "d" + slot, mem.get(slot), DATA_OFFSET);
        }
        try (RaidVolume v = again.build()) {
            assertTrue(v.resyncPending());
            ResyncAgent agent = new ResyncAgent(v);
            while (!agent.done()) {
                agent.doWork();
            }
            assertEquals(2, agent.rewritten());
            assertEquals(agent.totalBytes(), agent.doneBytes());
            assertFalse(v.resyncPending());
            // Now lose the two data members of stripe 7: reconstruction needs the repaired P and Q.
            v.fail(g.parityLayout().dataDisk(7, 0), "test");
            v.fail(g.parityLayout().dataDisk(7, 1), "test");
            ByteBuffer back = ByteBuffer.allocate(data.length);
            v.read(0, back);
            assertArrayEquals(data, back.array());
        }
    }

    @Test
    void mirrorResyncCopiesTheFirstCopyOverOthersThatDiffer() throws IOException {
        Geometry g = Geometry.of(1, 0, CHUNK, 3, MEMBER_BYTES);
        List<MemoryBlockDevice> mem = new ArrayList<>();
        RaidVolume.Builder b = RaidVolume.builder("t", g).clean(false);
        for (int slot = 0; slot < 3; slot++) {
            mem.add(new MemoryBlockDevice(DATA_OFFSET + MEMBER_BYTES));
            b.member(slot, "d" + slot, mem.get(slot), DATA_OFFSET);
        }
        byte[] data = random(100_000, 14);
        mem.get(0).write(DATA_OFFSET, ByteBuffer.wrap(data));
        mem.get(2).write(DATA_OFFSET + 5000, ByteBuffer.wrap(random(10, 15)));
        try (RaidVolume v = b.build()) {
            ResyncAgent agent = new ResyncAgent(v);
            while (!agent.done()) {
                agent.doWork();
            }
            for (int slot = 0; slot < 3; slot++) {
                ByteBuffer copy = ByteBuffer.allocate(data.length);
                mem.get(slot).read(DATA_OFFSET, copy);
                assertArrayEquals(data, copy.array(), "copy " + slot);
            }
        }
    }
}
