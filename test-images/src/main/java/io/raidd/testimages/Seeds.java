package io.raidd.testimages;

import java.util.concurrent.ThreadLocalRandom;

/**
 * Seeds for randomised tests: fixed with {@code -Draidd.seed=N}, otherwise fresh; always printed so
 * a failing run can be repeated.
 */
public final class Seeds {
    private Seeds() {}

    public static long seed(String testName) {
        String fixed = System.getProperty("raidd.seed");
        long seed = fixed != null
                ? Long.parseLong(fixed)
                : ThreadLocalRandom.current().nextLong();
        System.out.println(testName + ": seed=" + seed + " (repeat with -Draidd.seed=" + seed + ")");
        return seed;
    }
}
