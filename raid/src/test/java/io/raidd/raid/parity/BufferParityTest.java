package io.raidd.raid.parity;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** {@link BufferParity} against {@link ReferenceKernel} over heap and direct buffers. */
class BufferParityTest {

    private static final ParityKernel REFERENCE = new ReferenceKernel();

    @Test
    void matchesTheReferenceForEverySourceCountLengthAndBufferKind() {
        SplittableRandom random = TestSeeds.random("matchesTheReferenceForEverySourceCountLengthAndBufferKind");
        for (int round = 0; round < 400; round++) {
            int count = 1 + random.nextInt(12);
            // Mostly odd lengths: the long loops and the byte tail both run.
            int length = random.nextInt(4) == 0 ? random.nextInt(16) : random.nextInt(70_000);
            byte[][] data = new byte[count][];
            ByteBuffer[] sources = new ByteBuffer[count];
            int[] positions = new int[count];
            for (int z = 0; z < count; z++) {
                data[z] = TestSeeds.randomBytes(random, length);
                int before = random.nextInt(9);
                int after = random.nextInt(9);
                ByteBuffer b = random.nextBoolean()
                        ? ByteBuffer.allocateDirect(before + length + after)
                        : ByteBuffer.allocate(before + length + after);
                if (random.nextBoolean()) {
                    b.order(ByteOrder.LITTLE_ENDIAN);
                }
                b.position(before);
                b.put(data[z]);
                b.position(before);
                positions[z] = before;
                sources[z] = b;
            }
            byte[] expected = new byte[length];
            REFERENCE.p(data, count, expected, 0, length);
            int pOffset = random.nextInt(13);
            byte[] p = TestSeeds.randomBytes(random, pOffset + length + 5);
            byte[] untouched = p.clone();
            ByteBuffer pBuffer = random.nextBoolean() ? ByteBuffer.wrap(p) : ByteBuffer.allocateDirect(p.length);
            pBuffer.put(0, p).position(pOffset);
            BufferParity.p(sources, count, pBuffer, length);
            assertEquals(pOffset, pBuffer.position(), "P moved");
            pBuffer.get(0, p);
            String where = "count=" + count + " length=" + length;
            assertArrayEquals(expected, Arrays.copyOfRange(p, pOffset, pOffset + length), where);
            assertArrayEquals(Arrays.copyOf(untouched, pOffset), Arrays.copyOf(p, pOffset), "before P, " + where);
            assertArrayEquals(
                    Arrays.copyOfRange(untouched, pOffset + length, p.length),
                    Arrays.copyOfRange(p, pOffset + length, p.length),
                    "after P, " + where);
            for (int z = 0; z < count; z++) {
                assertEquals(positions[z], sources[z].position(), "source " + z + " moved, " + where);
            }
        }
    }

    @Test
    void refusesNoSourcesShortSourcesAndShortP() {
        ByteBuffer p = ByteBuffer.allocate(16);
        assertThrows(IllegalArgumentException.class, () -> BufferParity.p(new ByteBuffer[0], 0, p, 16));
        ByteBuffer[] sources = {ByteBuffer.allocate(16), ByteBuffer.allocate(15)};
        assertThrows(IllegalArgumentException.class, () -> BufferParity.p(sources, 2, p, 16));
        ByteBuffer[] enough = {ByteBuffer.allocate(17)};
        assertThrows(IllegalArgumentException.class, () -> BufferParity.p(enough, 1, p, 17));
    }
}
