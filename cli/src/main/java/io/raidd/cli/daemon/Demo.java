package io.raidd.cli.daemon;

import io.raidd.blockdev.FileBlockDevice;
import io.raidd.raid.layout.Geometry;
import io.raidd.raid.md.ArrayFormatter;
import io.raidd.raid.md.NamedDevice;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The README's demo: a RAID-6 of six sparse 1 GiB image files, created once and then reopened. */
public final class Demo {
    public static final int MEMBERS = 6;
    public static final long MEMBER_BYTES = 1L << 30;
    public static final int CHUNK_BYTES = 512 * 1024;
    public static final String NAME = "demo";

    private Demo() {}

    /** Returns the member paths, creating and formatting them the first time. */
    public static List<Path> prepare(Path dir) throws IOException {
        Files.createDirectories(dir);
        List<Path> paths = new ArrayList<>();
        int existing = 0;
        for (int i = 0; i < MEMBERS; i++) {
            Path p = dir.resolve("d" + i + ".img");
            paths.add(p);
            existing += Files.exists(p) ? 1 : 0;
        }
        if (existing == MEMBERS) {
            return paths;
        }
        if (existing > 0) {
            throw new IOException("demo directory " + dir + " holds only " + existing + " of its " + MEMBERS
                    + " member images; remove it to start over, or serve the members that are left explicitly");
        }
        List<NamedDevice> devices = new ArrayList<>();
        try {
            for (Path p : paths) {
                devices.add(new NamedDevice(p.toString(), FileBlockDevice.create(p, MEMBER_BYTES)));
            }
            ArrayFormatter.format(
                    devices, new ArrayFormatter.Spec(6, Geometry.LEFT_SYMMETRIC, CHUNK_BYTES, NAME, null, true, false));
        } finally {
            for (NamedDevice d : devices) {
                d.device().close();
            }
        }
        return paths;
    }
}
