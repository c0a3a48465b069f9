package io.raidd.bench;

import static jdk.incubator.vector.VectorOperators.ASHR;
import static jdk.incubator.vector.VectorOperators.LSHR;
import static jdk.incubator.vector.VectorOperators.LT;
import static jdk.incubator.vector.VectorOperators.XOR;

import io.raidd.raid.parity.GaloisField;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The ways to write the two GF(2^8) vector primitives with the Vector API, measured to pick the
 * ones VectorKernel uses: {@code dst ^= c * src} over one 64 KiB chunk, and a Horner step {@code
 * q = {02} * q ^ d} chained over one chunk. Each invocation counts one operation per byte
 * ({@code @OperationsPerInvocation}) and the time unit is the nanosecond, so the score in ops/ns
 * reads directly as GB/s (1 byte/ns = 10^9 bytes/s).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = "--add-modules=jdk.incubator.vector")
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class GfMultiplyOptionsBenchmark {

    private static final VectorSpecies<Byte> SPECIES = ByteVector.SPECIES_PREFERRED;
    private static final int LANES = SPECIES.length();
    private static final int CHUNK_BYTES = 65536;
    private static final int COEFFICIENT = 0x8e;

    private byte[] src;
    private byte[] dst;
    private byte[] lowTable;
    private byte[] highTable;

    @Setup
    public void setUp() {
        final SplittableRandom random = new SplittableRandom(7);
        src = new byte[CHUNK_BYTES];
        dst = new byte[CHUNK_BYTES];
        random.nextBytes(src);
        random.nextBytes(dst);
        lowTable = new byte[LANES];
        highTable = new byte[LANES];
        for (int lane = 0; lane < LANES; lane++) {
            lowTable[lane] = (byte) GaloisField.mul(COEFFICIENT, lane % 16);
            highTable[lane] = (byte) GaloisField.mul(COEFFICIENT, (lane % 16) << 4);
        }
    }

    private static ByteVector highNibbleByShortShift(ByteVector v) {
        return v.reinterpretAsShorts().lanewise(LSHR, 4).reinterpretAsBytes().and((byte) 0x0f);
    }

    /** selectFrom with the high nibble from a 16-bit shift (what VectorKernel does). */
    @Benchmark
    @OperationsPerInvocation(CHUNK_BYTES)
    public byte[] mulSelectFrom() {
        final ByteVector low = ByteVector.fromArray(SPECIES, lowTable, 0);
        final ByteVector high = ByteVector.fromArray(SPECIES, highTable, 0);
        for (int i = 0; i < CHUNK_BYTES; i += LANES) {
            final ByteVector v = ByteVector.fromArray(SPECIES, src, i);
            final ByteVector product = v.and((byte) 0x0f)
                    .selectFrom(low)
                    .lanewise(XOR, highNibbleByShortShift(v).selectFrom(high));
            product.lanewise(XOR, ByteVector.fromArray(SPECIES, dst, i)).intoArray(dst, i);
        }
        return dst;
    }

    /** selectFrom with a byte-lane LSHR (x86 has no byte shift; the JIT emulates it). */
    @Benchmark
    @OperationsPerInvocation(CHUNK_BYTES)
    public byte[] mulSelectFromByteShift() {
        final ByteVector low = ByteVector.fromArray(SPECIES, lowTable, 0);
        final ByteVector high = ByteVector.fromArray(SPECIES, highTable, 0);
        for (int i = 0; i < CHUNK_BYTES; i += LANES) {
            final ByteVector v = ByteVector.fromArray(SPECIES, src, i);
            final ByteVector product = v.and((byte) 0x0f)
                    .selectFrom(low)
                    .lanewise(XOR, v.lanewise(LSHR, 4).selectFrom(high));
            product.lanewise(XOR, ByteVector.fromArray(SPECIES, dst, i)).intoArray(dst, i);
        }
        return dst;
    }

    /** rearrange(toShuffle()), the spelling selectFrom is defined by. */
    @Benchmark
    @OperationsPerInvocation(CHUNK_BYTES)
    public byte[] mulRearrange() {
        final ByteVector low = ByteVector.fromArray(SPECIES, lowTable, 0);
        final ByteVector high = ByteVector.fromArray(SPECIES, highTable, 0);
        for (int i = 0; i < CHUNK_BYTES; i += LANES) {
            final ByteVector v = ByteVector.fromArray(SPECIES, src, i);
            final VectorShuffle<Byte> lowIndex = v.and((byte) 0x0f).toShuffle();
            final VectorShuffle<Byte> highIndex = highNibbleByShortShift(v).toShuffle();
            final ByteVector product = low.rearrange(lowIndex).lanewise(XOR, high.rearrange(highIndex));
            product.lanewise(XOR, ByteVector.fromArray(SPECIES, dst, i)).intoArray(dst, i);
        }
        return dst;
    }

    /** No lookups: the constant's bits select which doublings of the source to XOR together. */
    @Benchmark
    @OperationsPerInvocation(CHUNK_BYTES)
    public byte[] mulBitSerial() {
        for (int i = 0; i < CHUNK_BYTES; i += LANES) {
            ByteVector v = ByteVector.fromArray(SPECIES, src, i);
            ByteVector product = ByteVector.fromArray(SPECIES, dst, i);
            for (int bit = 0; bit < 8; bit++) {
                if ((COEFFICIENT >> bit & 1) != 0) {
                    product = product.lanewise(XOR, v);
                }
                v = x2CompareMask(v);
            }
            product.intoArray(dst, i);
        }
        return dst;
    }

    private static ByteVector x2CompareMask(ByteVector v) {
        final VectorMask<Byte> carry = v.compare(LT, (byte) 0);
        return v.add(v).lanewise(XOR, (byte) 0x1d, carry);
    }

    private static ByteVector x2Blend(ByteVector v) {
        final VectorMask<Byte> carry = v.compare(LT, (byte) 0);
        return v.add(v).lanewise(XOR, ByteVector.zero(SPECIES).blend((byte) 0x1d, carry));
    }

    private static ByteVector x2ArithmeticShift(ByteVector v) {
        return v.add(v).lanewise(XOR, v.lanewise(ASHR, 7).and((byte) 0x1d));
    }

    /** int.uc's SWAR form on vectors: (v >> 7 & 1) * 0x1d, the shift done on 16-bit lanes. */
    private static ByteVector x2ShortShiftMultiply(ByteVector v) {
        final ByteVector carry =
                v.reinterpretAsShorts().lanewise(LSHR, 7).reinterpretAsBytes().and((byte) 1);
        return v.add(v).lanewise(XOR, carry.mul((byte) 0x1d));
    }

    /** Eight chained Horner steps per vector, as in a k=8 Q computation. */
    @Benchmark
    @OperationsPerInvocation(CHUNK_BYTES * 8)
    public byte[] hornerCompareMask() {
        for (int i = 0; i < CHUNK_BYTES; i += LANES) {
            final ByteVector d = ByteVector.fromArray(SPECIES, src, i);
            ByteVector q = d;
            for (int z = 0; z < 7; z++) {
                q = x2CompareMask(q).lanewise(XOR, d);
            }
            q.intoArray(dst, i);
        }
        return dst;
    }

    @Benchmark
    @OperationsPerInvocation(CHUNK_BYTES * 8)
    public byte[] hornerBlend() {
        for (int i = 0; i < CHUNK_BYTES; i += LANES) {
            final ByteVector d = ByteVector.fromArray(SPECIES, src, i);
            ByteVector q = d;
            for (int z = 0; z < 7; z++) {
                q = x2Blend(q).lanewise(XOR, d);
            }
            q.intoArray(dst, i);
        }
        return dst;
    }

    @Benchmark
    @OperationsPerInvocation(CHUNK_BYTES * 8)
    public byte[] hornerArithmeticShift() {
        for (int i = 0; i < CHUNK_BYTES; i += LANES) {
            final ByteVector d = ByteVector.fromArray(SPECIES, src, i);
            ByteVector q = d;
            for (int z = 0; z < 7; z++) {
                q = x2ArithmeticShift(q).lanewise(XOR, d);
            }
            q.intoArray(dst, i);
        }
        return dst;
    }

    @Benchmark
    @OperationsPerInvocation(CHUNK_BYTES * 8)
    public byte[] hornerShortShiftMultiply() {
        for (int i = 0; i < CHUNK_BYTES; i += LANES) {
            final ByteVector d = ByteVector.fromArray(SPECIES, src, i);
            ByteVector q = d;
            for (int z = 0; z < 7; z++) {
                q = x2ShortShiftMultiply(q).lanewise(XOR, d);
            }
            q.intoArray(dst, i);
        }
        return dst;
    }
}
