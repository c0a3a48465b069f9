package io.raidd.cli.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raidd.blockdev.FileBlockDevice;
import io.raidd.cli.RaidctlMain;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link SparseSpace} on small tmpfs mounts (root only; fails, never skips, without it), and
 * {@code raidctl create --preallocate}, which is what its warning recommends.
 */
class SparseSpaceIT {
    private static final long MIB = 1 << 20;
    private static final String ADVICE =
            " is free: writes may fail with ENOSPC (raidctl create --preallocate avoids this)";

    @TempDir
    Path dir;

    private final List<Path> mounts = new ArrayList<>();

    @AfterEach
    void unmount() throws Exception {
        for (Path m : mounts) {
            run("umount", m.toString());
        }
    }

    @Test
    void warnsPerFileSystemWhereHolesCouldOutgrowTheFreeSpace() throws Exception {
        Path small = mount("small", 8 * MIB);
        Path roomy = mount("roomy", 64 * MIB);
        Path a = image(small.resolve("a.img"), 8 * MIB, false);
        Path b = image(small.resolve("b.img"), 8 * MIB, false);
        try (FileBlockDevice d = FileBlockDevice.open(a, false)) {
            d.write(0, ByteBuffer.allocate((int) MIB)); // 1 MiB of a is allocated now
        }
        Path c = image(roomy.resolve("c.img"), 8 * MIB, false);

        List<String> warnings = SparseSpace.warnings(List.of(a, b, c, a, dir.resolve("missing.img"), dir));
        assertEquals(1, warnings.size(), warnings.toString());
        String w = warnings.get(0);
        assertTrue(w.startsWith("members on " + small.toRealPath() + " could grow by 15.0 MiB but only "), w);
        assertTrue(w.endsWith(ADVICE), w);
        assertEquals(
                "members on " + small.toRealPath() + " could grow by 15.0 MiB but only "
                        + SparseSpace.human(Files.getFileStore(a).getUsableSpace()) + ADVICE,
                w);

        assertEquals(List.of(), SparseSpace.warnings(List.of(c)));
        assertEquals(List.of(), SparseSpace.warnings(List.of()));
    }

    @Test
    void preallocatedMembersCannotGrow() throws Exception {
        Path fs = mount("fs", 16 * MIB);
        Path full = image(fs.resolve("full.img"), 6 * MIB, true);
        Path sparse = image(fs.resolve("sparse.img"), 6 * MIB, false);
        assertEquals(List.of(), SparseSpace.warnings(List.of(full, sparse)), "6 MiB of holes, 10 MiB free");
        Path more = image(fs.resolve("more.img"), 6 * MIB, false);
        assertEquals(1, SparseSpace.warnings(List.of(full, sparse, more)).size(), "12 MiB of holes, 10 MiB free");
    }

    @Test
    void raidctlCreatePreallocateAllocatesEveryMember() throws Exception {
        Path fs = mount("fs", 64 * MIB);
        List<Path> members = List.of(fs.resolve("m0.img"), fs.resolve("m1.img"), fs.resolve("m2.img"));
        assertEquals(
                0,
                RaidctlMain.run(
                        "create",
                        "--level",
                        "5",
                        "--size",
                        "16M",
                        "--preallocate",
                        members.get(0).toString(),
                        members.get(1).toString(),
                        members.get(2).toString()));
        for (Path m : members) {
            assertEquals(16 * MIB, Files.size(m));
            assertTrue(FileBlockDevice.allocatedBytes(m) >= 16 * MIB, m + " is sparse");
        }
        assertEquals(List.of(), SparseSpace.warnings(members));

        // Does not fit: refused with the reason, and nothing is left behind.
        List<Path> big = List.of(fs.resolve("b0.img"), fs.resolve("b1.img"));
        assertEquals(
                1,
                RaidctlMain.run(
                        "create",
                        "--level",
                        "1",
                        "--size",
                        "16M",
                        "--preallocate",
                        big.get(0).toString(),
                        big.get(1).toString()));
        for (Path b : big) {
            assertTrue(Files.notExists(b), b + " was left behind");
        }
    }

    private Path mount(String name, long sizeBytes) throws Exception {
        Path m = Files.createDirectories(dir.resolve(name));
        run("mount", "-t", "tmpfs", "-o", "size=" + sizeBytes, "raidd-test", m.toString());
        mounts.add(m);
        return m;
    }

    private static Path image(Path p, long sizeBytes, boolean preallocate) throws IOException {
        FileBlockDevice.create(p, sizeBytes, preallocate).close();
        return p;
    }

    private static void run(String... command) throws Exception {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(60, TimeUnit.SECONDS), String.join(" ", command) + " timed out");
        assertEquals(
                0, process.exitValue(), String.join(" ", command) + " failed (needs root to mount tmpfs): " + output);
    }
}
