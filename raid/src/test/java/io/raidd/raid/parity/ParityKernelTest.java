package io.raidd.raid.parity;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Every fast kernel against {@link ReferenceKernel}, and the reference against the definition. */
class ParityKernelTest {

    private static final ParityKernel REFERENCE = new ReferenceKernel();
    private static final int MAX_LENGTH = 200 * 1024;
    private static final int MAX_OFFSET = 100;
    private static final int ROUNDS = 40;

    static Stream<ParityKernel> fastKernels() {
        return ParityKernels.all().stream().filter(k -> !(k instanceof ReferenceKernel));
    }

    @Test
    void vectorKernelIsTestedWheneverTheModuleIsPresent() {
        // Surefire runs with --add-modules=jdk.incubator.vector: a silent fallback would leave the
        // vector kernel untested.
        assertTrue(ParityKernels.vectorModulePresent(), "surefire must start the JVM with the vector module");
        assertTrue(ParityKernels.byName(VectorKernel.NAME).isPresent(), ParityKernels.selectionReason());
    }

    @Test
    void referenceMatchesTheDefinitionOfPAndQ() {
        final SplittableRandom random = TestSeeds.random("referenceMatchesTheDefinitionOfPAndQ");
        for (int count = 0; count <= 16; count++) {
            final int length = 1 + random.nextInt(600);
            final byte[][] data = randomData(random, count, length, true);
            final byte[] p = new byte[length];
            final byte[] q = new byte[length];
            REFERENCE.pq(data, count, p, q, 0, length);
            for (int i = 0; i < length; i++) {
                int wp = 0;
                int wq = 0;
                for (int z = 0; z < count; z++) {
                    final int d = data[z] == null ? 0 : data[z][i] & 0xff;
                    wp ^= d;
                    wq ^= GaloisField.mul(GaloisField.pow2(z), d);
                }
                assertEquals(wp, p[i] & 0xff, "P count=" + count + " i=" + i);
                assertEquals(wq, q[i] & 0xff, "Q count=" + count + " i=" + i);
            }
        }
    }

    @Test
    void referenceMatchesMdDocumentationExample() {
        // md-format.md 2.3: Q of a 3-data stripe = D0 ^ 2*D1 ^ 4*D2.
        final byte[][] data = {{(byte) 0x80}, {(byte) 0x80}, {(byte) 0x80}};
        final byte[] p = new byte[1];
        final byte[] q = new byte[1];
        REFERENCE.pq(data, 3, p, q, 0, 1);
        assertEquals(0x80, p[0] & 0xff);
        // 0x80 ^ {02}*0x80 (= 0x1d) ^ {04}*0x80 (= 0x3a)
        assertEquals(0x80 ^ 0x1d ^ 0x3a, q[0] & 0xff);
    }

    @ParameterizedTest
    @MethodSource("fastKernels")
    void pqMatchesReference(ParityKernel kernel) {
        final SplittableRandom random = TestSeeds.random("pqMatchesReference[" + kernel.name() + "]");
        for (int count = 1; count <= 16; count++) {
            for (int round = 0; round < 3; round++) {
                final int length = randomLength(random);
                final int offset = random.nextInt(MAX_OFFSET);
                final int arrayLength = offset + length + random.nextInt(MAX_OFFSET);
                final byte[][] data = randomData(random, count, arrayLength, round > 0);
                final byte[] expectedP = TestSeeds.randomBytes(random, arrayLength);
                final byte[] expectedQ = TestSeeds.randomBytes(random, arrayLength);
                final byte[] p = expectedP.clone();
                final byte[] q = expectedQ.clone();
                REFERENCE.pq(data, count, expectedP, expectedQ, offset, length);
                kernel.pq(data, count, p, q, offset, length);
                final String what = " count=" + count + " offset=" + offset + " length=" + length;
                assertArrayEquals(expectedP, p, "P" + what);
                assertArrayEquals(expectedQ, q, "Q" + what);

                final byte[] pOnly = TestSeeds.randomBytes(random, arrayLength);
                final byte[] expectedPOnly = pOnly.clone();
                REFERENCE.p(data, count, expectedPOnly, offset, length);
                kernel.p(data, count, pOnly, offset, length);
                assertArrayEquals(expectedPOnly, pOnly, "p()" + what);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("fastKernels")
    void allNullAndEmptyStripes(ParityKernel kernel) {
        final byte[] p = new byte[300];
        final byte[] q = new byte[300];
        Arrays.fill(p, (byte) 7);
        Arrays.fill(q, (byte) 7);
        kernel.pq(new byte[5][], 5, p, q, 0, 300);
        assertArrayEquals(new byte[300], p, "P of zero blocks");
        assertArrayEquals(new byte[300], q, "Q of zero blocks");
        Arrays.fill(p, (byte) 7);
        kernel.p(new byte[0][], 0, p, 0, 300);
        assertArrayEquals(new byte[300], p, "P of no blocks");
        Arrays.fill(p, (byte) 7);
        Arrays.fill(q, (byte) 7);
        kernel.pq(new byte[0][], 0, p, q, 0, 300);
        assertArrayEquals(new byte[300], p, "P of no blocks");
        assertArrayEquals(new byte[300], q, "Q of no blocks");
        kernel.pq(new byte[1][], 1, p, q, 10, 0);
        assertArrayEquals(new byte[300], p, "zero length writes nothing");
    }

    @ParameterizedTest
    @MethodSource("fastKernels")
    void xorAndMultipliesMatchReference(ParityKernel kernel) {
        final SplittableRandom random = TestSeeds.random("xorAndMultipliesMatchReference[" + kernel.name() + "]");
        for (int round = 0; round < ROUNDS; round++) {
            final int length = randomLength(random);
            final int offset = random.nextInt(MAX_OFFSET);
            final int arrayLength = offset + length + random.nextInt(MAX_OFFSET);
            final int coefficient = round < 2 ? round : random.nextInt(256);
            final byte[] src = TestSeeds.randomBytes(random, arrayLength);
            final byte[] dst = TestSeeds.randomBytes(random, arrayLength);
            final String what = " c=" + coefficient + " offset=" + offset + " length=" + length;

            final byte[] expected = dst.clone();
            final byte[] actual = dst.clone();
            REFERENCE.xorInto(src, expected, offset, length);
            kernel.xorInto(src, actual, offset, length);
            assertArrayEquals(expected, actual, "xorInto" + what);

            REFERENCE.mulXorInto(coefficient, src, expected, offset, length);
            kernel.mulXorInto(coefficient, src, actual, offset, length);
            assertArrayEquals(expected, actual, "mulXorInto" + what);

            REFERENCE.mul(coefficient, src, expected, offset, length);
            kernel.mul(coefficient, src, actual, offset, length);
            assertArrayEquals(expected, actual, "mul" + what);

            final byte[] inPlace = src.clone();
            kernel.mul(coefficient, inPlace, inPlace, offset, length);
            final byte[] expectedInPlace = src.clone();
            REFERENCE.mul(coefficient, expectedInPlace, expectedInPlace, offset, length);
            assertArrayEquals(expectedInPlace, inPlace, "mul in place" + what);
        }
    }

    @ParameterizedTest
    @MethodSource("fastKernels")
    void everyCoefficientMultipliesLikeTheTable(ParityKernel kernel) {
        final byte[] everyByte = new byte[256 + 77];
        for (int i = 0; i < everyByte.length; i++) {
            everyByte[i] = (byte) i;
        }
        final byte[] product = new byte[everyByte.length];
        for (int c = 0; c < 256; c++) {
            kernel.mul(c, everyByte, product, 0, everyByte.length);
            for (int i = 0; i < everyByte.length; i++) {
                assertEquals(GaloisField.mul(c, i & 0xff), product[i] & 0xff, c + "*" + (i & 0xff));
            }
        }
    }

    @ParameterizedTest
    @MethodSource("fastKernels")
    void fusedRecoveryStepsMatchReference(ParityKernel kernel) {
        final SplittableRandom random = TestSeeds.random("fusedRecoveryStepsMatchReference[" + kernel.name() + "]");
        for (int round = 0; round < ROUNDS; round++) {
            final int length = randomLength(random);
            final int offset = random.nextInt(MAX_OFFSET);
            final int arrayLength = offset + length + random.nextInt(MAX_OFFSET);
            final int pCoefficient = random.nextInt(256);
            final int qCoefficient = random.nextInt(256);
            final byte[] p = TestSeeds.randomBytes(random, arrayLength);
            final byte[] q = TestSeeds.randomBytes(random, arrayLength);
            final byte[] da = TestSeeds.randomBytes(random, arrayLength);
            final byte[] db = TestSeeds.randomBytes(random, arrayLength);
            final String what = " offset=" + offset + " length=" + length;

            final byte[] expectedA = da.clone();
            final byte[] expectedB = db.clone();
            REFERENCE.recoverTwoData(pCoefficient, qCoefficient, p, q, expectedA, expectedB, offset, length);
            final byte[] actualA = da.clone();
            final byte[] actualB = db.clone();
            kernel.recoverTwoData(pCoefficient, qCoefficient, p, q, actualA, actualB, offset, length);
            assertArrayEquals(expectedA, actualA, "recoverTwoData a" + what);
            assertArrayEquals(expectedB, actualB, "recoverTwoData b" + what);

            final byte[] expectedP = p.clone();
            final byte[] expectedD = da.clone();
            REFERENCE.recoverDataAndP(qCoefficient, expectedP, q, expectedD, offset, length);
            final byte[] actualP = p.clone();
            final byte[] actualD = da.clone();
            kernel.recoverDataAndP(qCoefficient, actualP, q, actualD, offset, length);
            assertArrayEquals(expectedP, actualP, "recoverDataAndP p" + what);
            assertArrayEquals(expectedD, actualD, "recoverDataAndP d" + what);
        }
    }

    @Test
    void allListsReferenceSwarAndVector() {
        final List<String> names =
                ParityKernels.all().stream().map(ParityKernel::name).toList();
        assertEquals(List.of(ReferenceKernel.NAME, SwarKernel.NAME, VectorKernel.NAME), names);
    }

    /** Mostly odd sizes, some tiny (tails only), some exact vector multiples, up to 200 KiB. */
    static int randomLength(SplittableRandom random) {
        switch (random.nextInt(4)) {
            case 0:
                return 1 + random.nextInt(200);
            case 1:
                return 64 * (1 + random.nextInt(MAX_LENGTH / 64));
            default:
                return 1 + random.nextInt(MAX_LENGTH);
        }
    }

    /** Random blocks, about one in five {@code null} when {@code withNulls}. */
    static byte[][] randomData(SplittableRandom random, int count, int length, boolean withNulls) {
        final byte[][] data = new byte[count][];
        for (int z = 0; z < count; z++) {
            data[z] = withNulls && random.nextInt(5) == 0 ? null : TestSeeds.randomBytes(random, length);
        }
        return data;
    }
}
