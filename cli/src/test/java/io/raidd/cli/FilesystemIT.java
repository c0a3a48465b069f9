package io.raidd.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raidd.cli.daemon.Daemon;
import io.raidd.cli.daemon.DaemonConfig;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * ext4 on a raidd RAID-6, the way a Linux host without the nbd kernel module can do it: nbdfuse
 * exposes the export as a file, a loop device turns it into a block device. Writes a seeded tree
 * of files, takes everything down, restarts the daemon, reconnects, and checks that e2fsck finds
 * the filesystem clean and every file's sha256 is unchanged.
 */
class FilesystemIT {
    private static final Duration TIMEOUT = Duration.ofMinutes(2);
    private static final long SEED = Long.getLong("raidd.test.seed", System.nanoTime());
    private static final int FILES = 200;
    private static final Map<String, String> PACKAGES = Map.of(
            "nbdfuse", "nbdfuse (libnbd)",
            "fusermount3", "fuse3",
            "losetup", "util-linux",
            "mkfs.ext4", "e2fsprogs",
            "e2fsck", "e2fsprogs",
            "mount", "mount",
            "umount", "mount");

    private static String tool(String name) {
        return Tools.require(name, PACKAGES.get(name));
    }

    @Test
    void ext4OnNbdfuseSurvivesRemountAndDaemonRestart() throws Exception {
        System.out.println("FilesystemIT seed " + SEED + " (-Draidd.test.seed=" + SEED + " repeats it)");
        for (String name : PACKAGES.keySet()) {
            tool(name);
        }
        try (Scratch scratch = new Scratch("raidd-fs-")) {
            List<Path> members = scratch.members("m", 6);
            Scratch.create(6, "64K", "128M", "fs", members);
            Path fuseDir = Files.createDirectory(scratch.resolve("fuse"));
            Path mountDir = Files.createDirectory(scratch.resolve("mnt"));
            Map<String, String> written;
            try (Daemon daemon = Daemon.start(config(members));
                    Attached disk = Attached.attach(daemon.uris().get(0), fuseDir, scratch.resolve("nbdfuse-1.log"))) {
                Tools.run(TIMEOUT, tool("mkfs.ext4"), "-q", disk.loopDevice()).assertSuccess();
                long[] totalBytes = new long[1];
                try (Mounted fs = Mounted.mount(disk.loopDevice(), mountDir, false)) {
                    written = writeTree(fs.dir(), new Random(SEED), totalBytes);
                }
                long volumeBytes = daemon.volumes().get(0).bytesWritten();
                assertTrue(
                        volumeBytes >= totalBytes[0],
                        "the files went through the volume: " + volumeBytes + " < " + totalBytes[0]);
            }
            try (Daemon daemon = Daemon.start(config(members));
                    Attached disk = Attached.attach(daemon.uris().get(0), fuseDir, scratch.resolve("nbdfuse-2.log"))) {
                Tools.Result fsck = Tools.run(TIMEOUT, tool("e2fsck"), "-fn", disk.loopDevice());
                assertEquals(
                        0, fsck.exitCode(), "e2fsck -fn finds the filesystem clean\n" + fsck.stdout() + fsck.stderr());
                try (Mounted fs = Mounted.mount(disk.loopDevice(), mountDir, true)) {
                    assertEquals(written, checksums(fs.dir()), "every file reads back unchanged");
                }
            }
        }
    }

    private static DaemonConfig config(List<Path> members) {
        DaemonConfig.Builder b = new DaemonConfig.Builder();
        b.members.addAll(members);
        b.listen.add(new DaemonConfig.HostPort("127.0.0.1", 0));
        b.controlSocket = members.get(0).resolveSibling("raidd.sock");
        return b.build();
    }

    /** Writes {@link #FILES} files of mixed sizes into nested directories; returns path -> sha256. */
    private static Map<String, String> writeTree(Path root, Random random, long[] totalBytes) throws Exception {
        Map<String, String> sums = new TreeMap<>();
        long total = 0;
        for (int i = 0; i < FILES; i++) {
            Path dir = root.resolve("d" + random.nextInt(8)).resolve("e" + random.nextInt(4));
            Files.createDirectories(dir);
            int kind = random.nextInt(100);
            int size = kind < 5
                    ? 0
                    : kind < 70
                            ? random.nextInt(64 << 10)
                            : kind < 95 ? random.nextInt(1 << 20) : random.nextInt(6 << 20);
            byte[] data = new byte[size];
            random.nextBytes(data);
            if (random.nextBoolean() && size > 8192) {
                // Runs of zeroes, so ext4's and the volume's zero handling are exercised too.
                int at = random.nextInt(size - 8192);
                java.util.Arrays.fill(data, at, at + 8192, (byte) 0);
            }
            Path file = dir.resolve("f" + i + ".bin");
            Files.write(file, data);
            sums.put(root.relativize(file).toString(), sha256(data));
            total += size;
        }
        System.out.printf("FilesystemIT wrote %d files, %d bytes%n", FILES, total);
        totalBytes[0] = total;
        return sums;
    }

    private static Map<String, String> checksums(Path root) throws Exception {
        Map<String, String> sums = new TreeMap<>();
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.filter(Files::isRegularFile).toList()) {
                if (!p.startsWith(root.resolve("lost+found"))) {
                    sums.put(root.relativize(p).toString(), sha256(Files.readAllBytes(p)));
                }
            }
        }
        return sums;
    }

    private static String sha256(byte[] data) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    }

    /** An nbdfuse process serving the export as {@code dir/nbd}, and a loop device over that file. */
    private static final class Attached implements AutoCloseable {
        private final Process nbdfuse;
        private final Path fuseDir;
        private final Path log;
        private String loopDevice;

        private Attached(Process nbdfuse, Path fuseDir, Path log) {
            this.nbdfuse = nbdfuse;
            this.fuseDir = fuseDir;
            this.log = log;
        }

        static Attached attach(String uri, Path fuseDir, Path log) throws Exception {
            Process p = new ProcessBuilder(tool("nbdfuse"), fuseDir.toString(), uri)
                    .redirectErrorStream(true)
                    .redirectOutput(log.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .start();
            Attached a = new Attached(p, fuseDir, log);
            try {
                Path file = fuseDir.resolve("nbd");
                Await.until(() -> Files.exists(file) || !p.isAlive(), TIMEOUT, "nbdfuse to create " + file);
                assertTrue(p.isAlive(), "nbdfuse exited " + exitOf(p) + ": " + Files.readString(log));
                a.loopDevice = Tools.run(TIMEOUT, tool("losetup"), "--find", "--show", file.toString())
                        .assertSuccess()
                        .stdout()
                        .strip();
                assertTrue(a.loopDevice.startsWith("/dev/loop"), a.loopDevice);
                return a;
            } catch (Throwable t) {
                a.close();
                throw t;
            }
        }

        private static String exitOf(Process p) {
            return p.isAlive() ? "(running)" : Integer.toString(p.exitValue());
        }

        String loopDevice() {
            return loopDevice;
        }

        /** Detaches the loop device, unmounts the FUSE file system, and waits for nbdfuse to exit. */
        @Override
        public void close() throws IOException {
            List<String> problems = new ArrayList<>();
            try {
                if (loopDevice != null) {
                    Tools.Result r = Tools.run(TIMEOUT, tool("losetup"), "-d", loopDevice);
                    if (r.exitCode() != 0) {
                        problems.add("losetup -d " + loopDevice + ": " + r.stderr());
                    }
                }
                if (nbdfuse.isAlive()) {
                    Tools.Result r = Tools.run(TIMEOUT, tool("fusermount3"), "-u", fuseDir.toString());
                    if (r.exitCode() != 0) {
                        problems.add("fusermount3 -u: " + r.stderr());
                    }
                }
                if (!nbdfuse.waitFor(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                    problems.add("nbdfuse did not exit after fusermount3 -u");
                    nbdfuse.destroyForcibly();
                    Tools.run(TIMEOUT, tool("umount"), "-l", fuseDir.toString());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                nbdfuse.destroyForcibly();
            }
            if (!problems.isEmpty()) {
                throw new IOException(String.join("; ", problems) + "; nbdfuse log: " + Files.readString(log));
            }
        }
    }

    /** A mounted file system; closing unmounts it. */
    private static final class Mounted implements AutoCloseable {
        private final Path dir;

        private Mounted(Path dir) {
            this.dir = dir;
        }

        Path dir() {
            return dir;
        }

        static Mounted mount(String device, Path dir, boolean readOnly) throws Exception {
            Tools.run(TIMEOUT, tool("mount"), "-t", "ext4", "-o", readOnly ? "ro" : "rw", device, dir.toString())
                    .assertSuccess();
            return new Mounted(dir);
        }

        @Override
        public void close() throws IOException {
            try {
                Tools.Result r = Tools.run(TIMEOUT, tool("umount"), dir.toString());
                if (r.exitCode() != 0) {
                    Tools.run(TIMEOUT, tool("umount"), "-l", dir.toString());
                    throw new IOException("umount " + dir + ": " + r.stderr());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
