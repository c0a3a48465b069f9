package io.raidd.raid.parity;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class Raid6RecoveryTest {

    private static final int PAGE = Raid6Recovery.CHECK_PAGE_BYTES;

    static Stream<ParityKernel> kernels() {
        return ParityKernels.all().stream();
    }

    /** A stripe in syndrome order with correct P and Q, bytes outside [offset, end) left random. */
    private static final class Stripe {
        final int dataCount;
        final int offset;
        final int length;
        final byte[][] blocks;

        Stripe(SplittableRandom random, int members, int offset, int length, int arrayLength) {
            this.dataCount = members - 2;
            this.offset = offset;
            this.length = length;
            this.blocks = new byte[members][];
            for (int i = 0; i < members; i++) {
                blocks[i] = TestSeeds.randomBytes(random, arrayLength);
            }
            new ReferenceKernel().pq(blocks, dataCount, blocks[dataCount], blocks[dataCount + 1], offset, length);
        }

        byte[][] copy() {
            final byte[][] copy = new byte[blocks.length][];
            for (int i = 0; i < blocks.length; i++) {
                copy[i] = blocks[i] == null ? null : blocks[i].clone();
            }
            return copy;
        }

        /** Overwrites block {@code index} inside the range with garbage; returns what it should become. */
        byte[] destroy(byte[][] working, int index, SplittableRandom random) {
            final byte[] garbage = TestSeeds.randomBytes(random, length);
            System.arraycopy(garbage, 0, working[index], offset, length);
            return blocks[index];
        }
    }

    @ParameterizedTest
    @MethodSource("kernels")
    void everySingleAndEveryPairOfLostMembers(ParityKernel kernel) {
        final SplittableRandom random = TestSeeds.random("everySingleAndEveryPairOfLostMembers[" + kernel.name() + "]");
        final Raid6Recovery recovery = new Raid6Recovery(kernel);
        for (int members = 4; members <= 8; members++) {
            final int offset = random.nextInt(100);
            final int length = 1 + random.nextInt(20_000);
            final Stripe stripe = new Stripe(random, members, offset, length, offset + length + random.nextInt(100));
            for (int a = 0; a < members; a++) {
                final byte[][] working = stripe.copy();
                final byte[][] references = working.clone();
                stripe.destroy(working, a, random);
                recovery.recover(working, stripe.dataCount, a, offset, length);
                assertStripe(stripe, working, references, "n=" + members + " lost " + a);
                for (int b = 0; b < members; b++) {
                    if (b == a) {
                        continue;
                    }
                    final byte[][] pair = stripe.copy();
                    final byte[][] pairReferences = pair.clone();
                    stripe.destroy(pair, a, random);
                    stripe.destroy(pair, b, random);
                    recovery.recover(pair, stripe.dataCount, a, b, offset, length);
                    assertStripe(stripe, pair, pairReferences, "n=" + members + " lost " + a + "," + b);
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("kernels")
    void survivingNullBlocksCountAsZeros(ParityKernel kernel) {
        final SplittableRandom random = TestSeeds.random("survivingNullBlocksCountAsZeros[" + kernel.name() + "]");
        final Raid6Recovery recovery = new Raid6Recovery(kernel);
        final int members = 7;
        final int length = 9000;
        final Stripe stripe = new Stripe(random, members, 0, length, length);
        stripe.blocks[1] = null;
        new ReferenceKernel().pq(stripe.blocks, 5, stripe.blocks[5], stripe.blocks[6], 0, length);
        for (int[] lost : new int[][] {{0, 2}, {0, 5}, {3, 6}, {5, 6}, {4, 0}}) {
            final byte[][] working = stripe.copy();
            final byte[][] references = working.clone();
            stripe.destroy(working, lost[0], random);
            stripe.destroy(working, lost[1], random);
            recovery.recover(working, 5, lost[0], lost[1], 0, length);
            assertStripe(stripe, working, references, "null block 1, lost " + Arrays.toString(lost));
        }
    }

    @Test
    void rejectsNonsense() {
        final Raid6Recovery recovery = new Raid6Recovery(new ReferenceKernel());
        final byte[][] blocks = new byte[5][8];
        assertThrows(IllegalArgumentException.class, () -> recovery.recover(blocks, 3, 2, 2, 0, 8));
        assertThrows(IllegalArgumentException.class, () -> recovery.recover(blocks, 3, 5, 0, 8));
        assertThrows(IllegalArgumentException.class, () -> recovery.recover(blocks, 4, 0, 0, 8));
        blocks[1] = null;
        assertThrows(IllegalArgumentException.class, () -> recovery.recover(blocks, 3, 1, 0, 8));
    }

    @ParameterizedTest
    @MethodSource("kernels")
    void locatesSingleByteAndWholePageCorruptionOfEachMember(ParityKernel kernel) {
        final SplittableRandom random = TestSeeds.random("locatesSingleByteAndWholePage[" + kernel.name() + "]");
        final Raid6Recovery recovery = new Raid6Recovery(kernel);
        for (int members = 4; members <= 10; members++) {
            final int pages = 1 + random.nextInt(5);
            final int offset = random.nextInt(50);
            // A short last page half of the time: it is checked like a whole one.
            final int length = pages * PAGE - (random.nextBoolean() ? 0 : 1 + random.nextInt(PAGE - 1));
            final Stripe stripe = new Stripe(random, members, offset, length, offset + length + 7);
            final byte[] scratchP = new byte[offset + length + 7];
            final byte[] scratchQ = new byte[offset + length + 7];
            final SyndromeVerdict[] verdicts = new SyndromeVerdict[pages + 1];
            final int dataCount = stripe.dataCount;

            assertEquals(
                    pages,
                    recovery.locateSingleError(stripe.blocks, dataCount, offset, length, scratchP, scratchQ, verdicts));
            for (int page = 0; page < pages; page++) {
                assertSame(SyndromeVerdict.CLEAN, verdicts[page], "clean stripe, page " + page);
            }

            for (int member = 0; member < members; member++) {
                final SyndromeVerdict expected = member < dataCount
                        ? SyndromeVerdict.dataBad(member)
                        : member == dataCount ? SyndromeVerdict.P_BAD : SyndromeVerdict.Q_BAD;
                final int page = random.nextInt(pages);
                final int pageStart = offset + page * PAGE;
                final int pageEnd = Math.min(pageStart + PAGE, offset + length);

                final byte[][] oneByte = stripe.copy();
                final int at = pageStart + random.nextInt(pageEnd - pageStart);
                oneByte[member][at] ^= (byte) (1 + random.nextInt(255));
                recovery.locateSingleError(oneByte, dataCount, offset, length, scratchP, scratchQ, verdicts);
                assertOnly(verdicts, pages, page, expected, "n=" + members + " byte " + at + " of member " + member);
                assertEquals(member, expected.blockIndex(dataCount));

                final byte[][] wholePage = stripe.copy();
                for (int i = pageStart; i < pageEnd; i++) {
                    wholePage[member][i] = (byte) ~wholePage[member][i];
                }
                recovery.locateSingleError(wholePage, dataCount, offset, length, scratchP, scratchQ, verdicts);
                assertOnly(verdicts, pages, page, expected, "n=" + members + " page " + page + " of member " + member);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("kernels")
    void twoCorruptMembersOnOnePageAreUnknown(ParityKernel kernel) {
        final SplittableRandom random = TestSeeds.random("twoCorruptMembersOnOnePageAreUnknown[" + kernel.name() + "]");
        final Raid6Recovery recovery = new Raid6Recovery(kernel);
        final int members = 6;
        final int length = 3 * PAGE;
        final Stripe stripe = new Stripe(random, members, 0, length, length);
        final byte[] scratchP = new byte[length];
        final byte[] scratchQ = new byte[length];
        final SyndromeVerdict[] verdicts = new SyndromeVerdict[3];
        for (int a = 0; a < members; a++) {
            for (int b = a + 1; b < members; b++) {
                final int page = random.nextInt(3);
                // Different bytes: at one shared byte two errors can mimic one (Px, Qx are just two values).
                final int first = page * PAGE + random.nextInt(PAGE / 2);
                final int second = page * PAGE + PAGE / 2 + random.nextInt(PAGE / 2);
                final byte[][] bytes = stripe.copy();
                bytes[a][first] ^= (byte) (1 + random.nextInt(255));
                bytes[b][second] ^= (byte) (1 + random.nextInt(255));
                recovery.locateSingleError(bytes, 4, 0, length, scratchP, scratchQ, verdicts);
                assertOnly(verdicts, 3, page, SyndromeVerdict.UNKNOWN, "bytes of members " + a + " and " + b);

                final byte[][] pages = stripe.copy();
                for (int i = page * PAGE; i < (page + 1) * PAGE; i++) {
                    pages[a][i] = (byte) random.nextInt(256);
                    pages[b][i] = (byte) random.nextInt(256);
                }
                recovery.locateSingleError(pages, 4, 0, length, scratchP, scratchQ, verdicts);
                assertOnly(verdicts, 3, page, SyndromeVerdict.UNKNOWN, "pages of members " + a + " and " + b);
            }
        }
    }

    @Test
    void syndromeIndexBeyondTheDataBlocksIsUnknown() {
        final SplittableRandom random = TestSeeds.random("syndromeIndexBeyondTheDataBlocksIsUnknown");
        final int dataCount = 4;
        final Stripe stripe = new Stripe(random, dataCount + 2, 0, PAGE, PAGE);
        final byte[][] blocks = stripe.copy();
        // Px = 1 and Qx = g^4 at one byte is what a lone error in a fifth data block would give.
        blocks[dataCount][100] ^= 1;
        blocks[dataCount + 1][100] ^= (byte) GaloisField.pow2(dataCount);
        final SyndromeVerdict[] verdicts = new SyndromeVerdict[1];
        new Raid6Recovery(new ReferenceKernel())
                .locateSingleError(blocks, dataCount, 0, PAGE, new byte[PAGE], new byte[PAGE], verdicts);
        assertSame(SyndromeVerdict.UNKNOWN, verdicts[0]);
    }

    private static void assertOnly(
            SyndromeVerdict[] verdicts, int pages, int badPage, SyndromeVerdict expected, String what) {
        for (int page = 0; page < pages; page++) {
            assertSame(page == badPage ? expected : SyndromeVerdict.CLEAN, verdicts[page], what + ", page " + page);
        }
    }

    private static void assertStripe(Stripe stripe, byte[][] actual, byte[][] references, String what) {
        for (int i = 0; i < actual.length; i++) {
            assertSame(references[i], actual[i], what + ": blocks[" + i + "] restored");
            if (stripe.blocks[i] == null) {
                continue;
            }
            assertArrayEquals(
                    Arrays.copyOfRange(stripe.blocks[i], stripe.offset, stripe.offset + stripe.length),
                    Arrays.copyOfRange(actual[i], stripe.offset, stripe.offset + stripe.length),
                    what + ": block " + i);
        }
    }
}
