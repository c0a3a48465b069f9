package io.raidd.blockdev;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * A small tmpfs mounted for one test (root only; fails, never skips, without it). Close every file
 * on it before {@link #close()}, which unmounts.
 */
final class Tmpfs implements AutoCloseable {
    private final Path dir;

    private Tmpfs(Path dir) {
        this.dir = dir;
    }

    /** Mounts a tmpfs of {@code sizeBytes} (a multiple of 4096) on a new directory {@code dir}. */
    static Tmpfs mount(Path dir, long sizeBytes) throws IOException {
        Files.createDirectories(dir);
        run("mount", "-t", "tmpfs", "-o", "size=" + sizeBytes, "raidd-test", dir.toString());
        return new Tmpfs(dir);
    }

    Path dir() {
        return dir;
    }

    Path resolve(String name) {
        return dir.resolve(name);
    }

    @Override
    public void close() throws IOException {
        run("umount", dir.toString());
    }

    private static void run(String... command) throws IOException {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            assertTrue(process.waitFor(60, TimeUnit.SECONDS), String.join(" ", command) + " timed out");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
        assertEquals(
                0,
                process.exitValue(),
                String.join(" ", command) + " failed (needs root to mount tmpfs): " + output.trim());
    }
}
