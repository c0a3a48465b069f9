package io.raidd.scrubber;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;

/** {@link ScrubRecordDescriptor} against a record built byte by byte from the diagram. */
class ScrubRecordTest {
    private static final byte[] UUID = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

    /** One entry, one member row, one finding, laid out by hand. */
    private static byte[] handBuilt() {
        int bytes = 56 + 64 + 16 + 32 + 4;
        ByteBuffer b = ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
        b.put(0, "RAIDDSC1".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        b.putInt(8, 1);
        b.putInt(12, bytes);
        b.putLong(16, 7); // sequence
        b.put(24, UUID);
        b.putLong(40, 123); // cursor stripe
        b.putShort(48, (short) 1); // entries
        int e = 56;
        b.putLong(e, 1_700_000_000_000L); // start
        b.putLong(e + 8, 1_700_000_060_000L); // end
        b.putLong(e + 16, 1L << 30); // done bytes
        b.putLong(e + 24, 1L << 30); // total bytes
        b.putLong(e + 32, 17_895_697L); // rate
        b.putInt(e + 40, 1); // found
        b.putInt(e + 44, 1); // repaired
        b.putInt(e + 48, 0); // unresolved
        b.put(e + 52, (byte) 2); // finished
        b.put(e + 53, (byte) 1); // repair
        b.putShort(e + 54, (short) 1); // member rows
        b.putShort(e + 56, (short) 1); // stored findings
        int row = e + 64;
        b.putShort(row, (short) 3);
        b.putInt(row + 4, 1);
        b.putInt(row + 8, 1);
        b.putInt(row + 12, 0);
        int f = row + 16;
        b.putShort(f, (short) 3); // slot
        b.put(f + 2, (byte) 1); // P
        b.put(f + 3, (byte) 0); // tag mismatch
        b.put(f + 4, (byte) 1); // repaired
        b.putLong(f + 8, -1); // no volume offset
        b.putLong(f + 16, 8192); // member offset
        b.putInt(f + 24, 4096);
        CRC32C crc = new CRC32C();
        crc.update(b.array(), 0, bytes - 4);
        b.putInt(bytes - 4, (int) crc.getValue());
        return b.array();
    }

    private static ScrubRecord expected() {
        Finding f = new Finding("d3", 3, -1, 8192, 4096, Finding.Kind.P, Finding.Cause.TAG_MISMATCH, true, false, "");
        ScrubRecord.Entry e = new ScrubRecord.Entry(
                1_700_000_000_000L,
                1_700_000_060_000L,
                1L << 30,
                1L << 30,
                17_895_697L,
                1,
                1,
                0,
                ScrubRecord.State.FINISHED,
                true,
                Map.of(3, new long[] {1, 1, 0}),
                List.of(f));
        return new ScrubRecord(7, UUID, 123, List.of(e));
    }

    @Test
    void encodesAsTheDiagramSays() {
        assertArrayEquals(handBuilt(), expected().encode());
    }

    @Test
    void decodesTheHandBuiltRecord() {
        byte[] slot = java.util.Arrays.copyOf(handBuilt(), ScrubRecordDescriptor.SLOT_BYTES);
        ScrubRecord r = ScrubRecord.decode(slot, UUID, s -> "d" + s);
        assertEquals(7, r.sequence());
        assertEquals(123, r.cursorStripe());
        ScrubRecord.Entry e = r.entries().get(0);
        assertEquals(ScrubRecord.State.FINISHED, e.state());
        assertEquals(List.of(expected().entries().get(0).findings().get(0)), e.findings());
        assertArrayEquals(new long[] {1, 1, 0}, e.perSlot().get(3));
        assertArrayEquals(handBuilt(), r.encode());
    }

    @Test
    void refusesDamageAndOtherArrays() {
        byte[] ok = handBuilt();
        for (int i = 0; i < ok.length; i += 7) {
            byte[] bad = ok.clone();
            bad[i] ^= 0x40;
            assertNull(ScrubRecord.decode(bad, UUID, null), "flip at " + i);
        }
        byte[] other = UUID.clone();
        other[0] = 9;
        assertNull(ScrubRecord.decode(ok, other, null));
        assertNull(ScrubRecord.decode(new byte[ScrubRecordDescriptor.SLOT_BYTES], UUID, null));
    }
}
