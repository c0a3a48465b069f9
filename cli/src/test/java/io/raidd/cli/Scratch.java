package io.raidd.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.raidd.blockdev.FileBlockDevice;
import io.raidd.raid.md.Superblock;
import io.raidd.raid.md.SuperblockCodec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * A scratch directory for member images: on tmpfs (/dev/shm) when there is one, because the
 * tests measure raidd and the clients, not the disk; removed on close.
 */
final class Scratch implements AutoCloseable {
    private final Path dir;

    Scratch(String prefix) throws IOException {
        Path shm = Path.of("/dev/shm");
        Path parent =
                Files.isDirectory(shm) && Files.isWritable(shm) ? shm : Path.of(System.getProperty("java.io.tmpdir"));
        dir = Files.createTempDirectory(parent, prefix);
    }

    Path dir() {
        return dir;
    }

    Path resolve(String name) {
        return dir.resolve(name);
    }

    /** Member paths {@code <prefix>0.img ... <prefix>(n-1).img} in this directory (not created). */
    List<Path> members(String prefix, int count) {
        List<Path> paths = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            paths.add(dir.resolve(prefix + i + ".img"));
        }
        return paths;
    }

    /** Creates an array with {@code raidctl create} (in process); fails the test if it does not exit 0. */
    static void create(int level, String chunk, String memberSize, String name, List<Path> members, String... options) {
        List<String> args = new ArrayList<>(List.of(
                "create", "--level", Integer.toString(level), "--chunk", chunk, "--size", memberSize, "--name", name));
        args.addAll(List.of(options));
        members.forEach(p -> args.add(p.toString()));
        assertEquals(0, RaidctlMain.run(args.toArray(String[]::new)), "raidctl " + String.join(" ", args));
    }

    static Superblock superblock(Path member) {
        try (FileBlockDevice d = FileBlockDevice.open(member, true)) {
            return SuperblockCodec.read(d);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() throws IOException {
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
