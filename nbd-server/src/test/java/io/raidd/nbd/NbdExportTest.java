package io.raidd.nbd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raidd.blockdev.BlockDevice;
import io.raidd.blockdev.MemoryBlockDevice;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

class NbdExportTest {
    @Test
    void minimumBlockIsTheSectorOrLogicalBlockAndDividesTheSize() {
        assertEquals(512, export(1L << 30, 512).minimumBlockSizeBytes());
        assertEquals(512, export(1L << 30, 1).minimumBlockSizeBytes(), "at least a sector");
        assertEquals(4096, export(1L << 30, 4096).minimumBlockSizeBytes());
        assertEquals(65536, export(1L << 30, 1 << 20).minimumBlockSizeBytes(), "the protocol caps it at 64 KiB");
        assertEquals(8, export(1000, 512).minimumBlockSizeBytes(), "the tail must stay addressable");
        assertEquals(1024, export(3 * 1024, 4096).minimumBlockSizeBytes());
    }

    @Test
    void preferredBlockIsAPowerOfTwoAtLeast4KiB() {
        assertEquals(4096, export(1 << 20, 512).preferredBlockSizeBytes());
        NbdExport striped = NbdExport.builder("s", new MemoryBlockDevice(1 << 24))
                .preferredBlockSizeBytes(1 << 20)
                .build();
        assertEquals(1 << 20, striped.preferredBlockSizeBytes());
        assertThrows(
                IllegalArgumentException.class,
                () -> NbdExport.builder("s", new MemoryBlockDevice(4096))
                        .preferredBlockSizeBytes(3 * 4096)
                        .build());
    }

    @Test
    void namesFollowTheProtocolsStringRules() {
        assertThrows(
                IllegalArgumentException.class,
                () -> NbdExport.builder("a\0b", new MemoryBlockDevice(4096)).build());
        assertThrows(
                IllegalArgumentException.class,
                () -> NbdExport.builder("x".repeat(4097), new MemoryBlockDevice(4096))
                        .build());
        assertEquals(
                "", NbdExport.builder("", new MemoryBlockDevice(4096)).build().name());
    }

    @Test
    void readOnlyDeviceMakesAReadOnlyExport() {
        TestDevice ro = new TestDevice(new MemoryBlockDevice(4096));
        ro.readOnly = true;
        assertTrue(NbdExport.builder("r", ro).build().readOnly());
        assertFalse(export(4096, 512).readOnly());
    }

    /** Any geometry, including ones a real device would refuse, to exercise the rules. */
    private static NbdExport export(long size, int logicalBlock) {
        BlockDevice geometry = new BlockDevice() {
            @Override
            public long sizeBytes() {
                return size;
            }

            @Override
            public int logicalBlockSizeBytes() {
                return logicalBlock;
            }

            @Override
            public void read(long offsetBytes, ByteBuffer dst) {
                throw new UnsupportedOperationException();
            }

            @Override
            public void write(long offsetBytes, ByteBuffer src) {
                throw new UnsupportedOperationException();
            }

            @Override
            public void flush() {}

            @Override
            public void discard(long offsetBytes, long lengthBytes) {}

            @Override
            public void writeZeroes(long offsetBytes, long lengthBytes) {}

            @Override
            public void close() {}
        };
        return NbdExport.builder("e", geometry).build();
    }
}
