package io.raidd.raid.parity;

import java.util.SplittableRandom;

/** Seeds for randomised tests: printed, and fixed with {@code -Draidd.test.seed=N} to replay. */
final class TestSeeds {

    static final String PROPERTY = "raidd.test.seed";

    private TestSeeds() {}

    static SplittableRandom random(String testName) {
        final Long fixed = Long.getLong(PROPERTY);
        final long seed = fixed != null
                ? fixed
                : System.nanoTime() ^ Thread.currentThread().getId() << 32;
        System.out.println(testName + ": seed " + seed + " (replay with -D" + PROPERTY + "=" + seed + ")");
        return new SplittableRandom(seed);
    }

    static byte[] randomBytes(SplittableRandom random, int length) {
        final byte[] bytes = new byte[length];
        random.nextBytes(bytes);
        return bytes;
    }
}
