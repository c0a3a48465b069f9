package io.raidd.cli.daemon;

import io.raidd.blockdev.FileBlockDevice;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Whether sparse member images could outgrow their file system. A write into a hole of a sparse
 * image needs space the file system may no longer have; it then fails with ENOSPC on every member on
 * that file system at once (which, treated as dead disks, used to take the whole array down). This
 * is the warning to give when the volume is served, while there is still time to free space.
 */
public final class SparseSpace {
    private SparseSpace() {}

    /**
     * One line per file system on which the member image files could grow by more than its usable
     * space: the sum of each image's apparent size minus its allocated size ({@code st_blocks}), against
     * {@link java.nio.file.FileStore#getUsableSpace()}. Paths that are not regular files (block
     * devices, missing files) are skipped, as are files whose sizes cannot be read: this is advice,
     * and a missing member is reported elsewhere. A file named twice counts once.
     */
    public static List<String> warnings(List<Path> memberFiles) {
        Map<Long, FileSystem> byDevice = new LinkedHashMap<>();
        Set<Path> seen = new HashSet<>();
        for (Path p : memberFiles) {
            try {
                if (!Files.isRegularFile(p)) {
                    continue;
                }
                Path file = p.toRealPath();
                if (!seen.add(file)) {
                    continue;
                }
                long growthBytes = Math.max(0, Files.size(file) - FileBlockDevice.allocatedBytes(file));
                long device = device(file);
                FileSystem fs = byDevice.get(device);
                if (fs == null) {
                    fs = new FileSystem(
                            mountPoint(file, device), Files.getFileStore(file).getUsableSpace());
                    byDevice.put(device, fs);
                }
                fs.growthBytes += growthBytes;
            } catch (IOException | RuntimeException e) {
                // Advice only: a file we cannot look at is not a reason to refuse to start.
            }
        }
        List<String> warnings = new ArrayList<>();
        for (FileSystem fs : byDevice.values()) {
            if (fs.growthBytes > fs.usableBytes) {
                warnings.add("members on " + fs.mountPoint + " could grow by " + human(fs.growthBytes) + " but only "
                        + human(fs.usableBytes) + " is free: writes may fail with ENOSPC"
                        + " (raidctl create --preallocate avoids this)");
            }
        }
        return warnings;
    }

    private static final class FileSystem {
        final Path mountPoint;
        final long usableBytes;
        long growthBytes;

        FileSystem(Path mountPoint, long usableBytes) {
            this.mountPoint = mountPoint;
            this.usableBytes = usableBytes;
        }
    }

    private static long device(Path p) throws IOException {
        return ((Number) Files.getAttribute(p, "unix:dev")).longValue();
    }

    /** The highest directory above {@code file} still on its device: where that file system is mounted. */
    private static Path mountPoint(Path file, long device) throws IOException {
        Path dir = file.getParent();
        while (dir.getParent() != null && device(dir.getParent()) == device) {
            dir = dir.getParent();
        }
        return dir;
    }

    /** Binary units with one decimal, as operators read free space: "3.0 GiB", "512.0 KiB". */
    static String human(long bytes) {
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
        double value = bytes;
        int unit = 0;
        while (value >= 1024 && unit < units.length - 1) {
            value /= 1024;
            unit++;
        }
        return unit == 0 ? bytes + " B" : String.format(Locale.ROOT, "%.1f %s", value, units[unit]);
    }
}
