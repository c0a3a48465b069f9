package io.raidd.testimages;

import java.util.Random;

/**
 * Splits a volume into interleaved lanes of an odd size so that several writer threads never
 * write the same byte yet constantly share stripes and chunks (which is what stripe locking must
 * get right). Lane {@code i} belongs to thread {@code i % threads}.
 */
public final class Lanes {
    private final long volumeBytes;
    private final int laneBytes;
    private final int threads;
    private final long lanes;

    public Lanes(long volumeBytes, int laneBytes, int threads) {
        this.volumeBytes = volumeBytes;
        this.laneBytes = laneBytes;
        this.threads = threads;
        this.lanes = volumeBytes / laneBytes;
        if (lanes < threads) {
            throw new IllegalArgumentException(
                    "volume too small for " + threads + " threads of " + laneBytes + "-byte lanes");
        }
    }

    /** A random range owned by {@code thread}: {offset, length}, inside one lane. */
    public long[] randomRange(Random random, int thread) {
        long lanesOfThread = (lanes - thread + threads - 1) / threads;
        long lane = thread + threads * (long) random.nextInt((int) Math.min(Integer.MAX_VALUE, lanesOfThread));
        int in = random.nextInt(laneBytes);
        int len = 1 + random.nextInt(laneBytes - in);
        long offset = lane * laneBytes + in;
        return new long[] {offset, Math.min(len, volumeBytes - offset)};
    }
}
