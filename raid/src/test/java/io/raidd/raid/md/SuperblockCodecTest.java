package io.raidd.raid.md;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raidd.blockdev.MemoryBlockDevice;
import io.raidd.raid.layout.Geometry;
import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;

class SuperblockCodecTest {
    private static final long MEMBER_BYTES = 64L << 20;

    static List<NamedDevice> members(int n, long bytes) {
        List<NamedDevice> out = new java.util.ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(new NamedDevice("m" + i, new MemoryBlockDevice(bytes)));
        }
        return out;
    }

    static Superblock formatted() throws IOException {
        List<NamedDevice> m = members(5, MEMBER_BYTES);
        return ArrayFormatter.format(
                        m, new ArrayFormatter.Spec(6, Geometry.LEFT_SYMMETRIC, 64 * 1024, "vol0", null, true, false))
                .superblocks()
                .get(2);
    }

    /** calc_sb_1_csum transcribed independently, byte by byte. */
    static int referenceChecksum(byte[] sb) {
        int maxDev = (sb[220] & 0xff) | (sb[221] & 0xff) << 8 | (sb[222] & 0xff) << 16 | (sb[223] & 0xff) << 24;
        int size = 256 + maxDev * 2;
        long newcsum = 0;
        byte[] copy = sb.clone();
        copy[216] = copy[217] = copy[218] = copy[219] = 0;
        int i = 0;
        for (; size >= 4; size -= 4, i += 4) {
            long word = (copy[i] & 0xffL)
                    | (copy[i + 1] & 0xffL) << 8
                    | (copy[i + 2] & 0xffL) << 16
                    | (copy[i + 3] & 0xffL) << 24;
            newcsum += word;
        }
        if (size == 2) {
            newcsum += (copy[i] & 0xffL) | (copy[i + 1] & 0xffL) << 8;
        }
        return (int) ((newcsum & 0xffffffffL) + (newcsum >>> 32));
    }

    @Test
    void roundTripsEveryField() throws IOException {
        Superblock sb = formatted();
        byte[] block = SuperblockCodec.encode(sb);
        Superblock back = SuperblockCodec.decode(block, MEMBER_BYTES);
        assertArrayEquals(block, SuperblockCodec.encode(back));
        assertEquals(sb, back);
        assertEquals("vol0", back.setName());
        assertEquals(6, back.level());
        assertEquals(2, back.devNumber());
        assertEquals(2, back.role());
        assertEquals("AAAAA", back.arrayState());
        assertEquals(128, back.chunkSectors());
        assertEquals(8, back.superOffsetSectors());
        assertTrue(back.clean());
    }

    @Test
    void checksumMatchesAnIndependentTranscriptionOfMdsFold() throws IOException {
        byte[] block = SuperblockCodec.encode(formatted());
        int stored =
                (block[216] & 0xff) | (block[217] & 0xff) << 8 | (block[218] & 0xff) << 16 | (block[219] & 0xff) << 24;
        assertEquals(referenceChecksum(block), stored);
        // An odd max_dev leaves a trailing half word, which md adds as 16 bits.
        assertEquals(referenceChecksum(withMaxDev(block, 383)), SuperblockCodec.checksum(withMaxDev(block, 383), 383));
    }

    private static byte[] withMaxDev(byte[] block, int maxDev) {
        byte[] b = block.clone();
        b[220] = (byte) maxDev;
        b[221] = (byte) (maxDev >> 8);
        return b;
    }

    @Test
    void aFlippedByteAnywhereInTheChecksummedRangeIsDetected() throws IOException {
        byte[] block = SuperblockCodec.encode(formatted());
        int covered = 256 + 2 * SuperblockDescriptor.DEFAULT_MAX_DEV;
        for (int i = 0; i < covered; i++) {
            if (i >= 216 && i < 224) {
                continue; // sb_csum itself and max_dev change what is checked; covered below
            }
            byte[] bad = block.clone();
            bad[i] ^= 0x10;
            int at = i;
            InvalidSuperblockException e = assertThrows(
                    InvalidSuperblockException.class,
                    () -> SuperblockCodec.decode(bad, MEMBER_BYTES),
                    () -> "byte " + at);
            if (i >= 8) { // magic and major version are checked first, as in md's super_1_load
                assertTrue(e.getMessage().contains("checksum mismatch"), "byte " + i + ": " + e.getMessage());
            }
        }
        byte[] badSum = block.clone();
        badSum[217] ^= 1;
        assertThrows(InvalidSuperblockException.class, () -> SuperblockCodec.decode(badSum, MEMBER_BYTES));
    }

    @Test
    void rejectsWhatMdWouldRejectWithAReason() throws IOException {
        Superblock sb = formatted();
        byte[] block = SuperblockCodec.encode(sb);
        byte[] zero = new byte[4096];
        assertTrue(assertThrows(InvalidSuperblockException.class, () -> SuperblockCodec.decode(zero, MEMBER_BYTES))
                .getMessage()
                .startsWith("no md superblock"));
        InvalidSuperblockException small =
                assertThrows(InvalidSuperblockException.class, () -> SuperblockCodec.decode(block, MEMBER_BYTES / 2));
        assertTrue(small.getMessage().contains("does not fit"), small.getMessage());
    }

    @Test
    void timesKeepSecondsInTheLow40Bits() {
        long t = Superblock.mdTime(1_700_000_000L, 123_456);
        assertEquals(1_700_000_000L, Superblock.seconds(t));
        assertEquals(123_456, t >>> 40);
    }
}
