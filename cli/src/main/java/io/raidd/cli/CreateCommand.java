package io.raidd.cli;

import io.raidd.blockdev.BlockDevice;
import io.raidd.blockdev.BlockDevices;
import io.raidd.blockdev.FileBlockDevice;
import io.raidd.cli.daemon.IoErrors;
import io.raidd.raid.layout.Geometry;
import io.raidd.raid.md.ArrayFormatter;
import io.raidd.raid.md.NamedDevice;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code raidctl create}: writes a new array's superblocks onto its members. */
@Command(
        name = "create",
        mixinStandardHelpOptions = true,
        description = {
            "Creates an array: writes md v1.2 superblocks (mdadm --examine reads them) onto the members.",
            "Members that do not exist are created as image files of --size bytes: sparse, or fully allocated"
                    + " with --preallocate."
        })
final class CreateCommand implements Callable<Integer> {

    @Option(names = "--level", required = true, description = "RAID level: 0, 1, 4, 5, 6 or 10.")
    int level;

    @Option(
            names = "--layout",
            description = "md layout (RAID-5/6: left-symmetric (default), right-symmetric, left-asymmetric,"
                    + " right-asymmetric, parity-first, parity-last; RAID-10: n2 (default), n3, ...).")
    String layout;

    @Option(
            names = "--chunk",
            defaultValue = "512K",
            description = "Chunk size, a power of two from 4K (default ${DEFAULT-VALUE}).")
    String chunk;

    @Option(names = "--size", description = "Size of each member image to create (for example 1G).")
    String size;

    @Option(
            names = "--preallocate",
            description = "Allocate the image files this creates in full now (fallocate) instead of sparse, so that"
                    + " writes can never fail later because their file system filled up. Existing members are"
                    + " left as they are.")
    boolean preallocate;

    @Option(
            names = "--name",
            description = "Array name, the NBD export name (default: the name of the first member without extension).")
    String name;

    @Option(
            names = "--force",
            description = "Overwrite members that belong to another array; accept members of different sizes.")
    boolean force;

    @Parameters(arity = "1..*", paramLabel = "MEMBER", description = "Image files or block devices, in slot order.")
    List<Path> members;

    @Override
    public Integer call() throws IOException {
        int layoutCode = layout == null ? Geometry.defaultLayout(level) : Geometry.parseLayout(level, layout);
        int chunkBytes = (int) Sizes.parse(chunk);
        Long sizeBytes = size == null ? null : Sizes.parse(size);
        Set<Path> seen = new HashSet<>();
        for (Path p : members) {
            if (!seen.add(p.toAbsolutePath().normalize())) {
                throw new IllegalArgumentException("member " + p + " is given twice");
            }
        }
        // Validate the shape before touching any file, so a typo creates nothing.
        Geometry.of(level, layoutCode, level == 1 ? 4096 : chunkBytes, members.size(), Long.MAX_VALUE / 2);
        String arrayName = name != null ? name : defaultName(members.get(0));
        List<NamedDevice> devices = new ArrayList<>();
        List<Path> created = new ArrayList<>();
        boolean allFresh = true;
        try {
            for (Path p : members) {
                BlockDevice d;
                if (Files.exists(p)) {
                    if (sizeBytes != null && Files.isRegularFile(p) && Files.size(p) != sizeBytes) {
                        throw new IllegalArgumentException(
                                "member " + p + " exists with " + Files.size(p) + " bytes, not --size " + size);
                    }
                    d = BlockDevices.open(p, false);
                    allFresh = false;
                } else {
                    if (sizeBytes == null) {
                        throw new IllegalArgumentException(
                                "member " + p + " does not exist; give --size to create it as an image file");
                    }
                    try {
                        d = FileBlockDevice.create(p, sizeBytes, preallocate);
                    } catch (IOException e) {
                        throw new IOException("cannot create member " + p + ": " + IoErrors.reason(e), e);
                    }
                    created.add(p);
                }
                devices.add(new NamedDevice(p.toString(), d));
            }
            ArrayFormatter.Formatted f = ArrayFormatter.format(
                    devices, new ArrayFormatter.Spec(level, layoutCode, chunkBytes, arrayName, null, allFresh, force));
            Geometry g = f.geometry();
            System.out.printf(
                    "created array '%s' (%s): %s, %s usable%s%n",
                    arrayName,
                    f.superblocks().get(0).arrayUuid(),
                    g,
                    Sizes.human(g.volumeSizeBytes()),
                    allFresh ? "" : "; redundancy will be resynced when first served");
            for (int i = 0; i < members.size(); i++) {
                System.out.printf(
                        "  slot %d: %s (data offset %d sectors)%n",
                        i, members.get(i), f.superblocks().get(i).dataOffsetSectors());
            }
            System.out.println("serve it with: raidd "
                    + String.join(" ", members.stream().map(Path::toString).toList()));
            return 0;
        } catch (IOException | RuntimeException e) {
            for (Path p : created) {
                Files.deleteIfExists(p);
            }
            throw e;
        } finally {
            for (NamedDevice d : devices) {
                d.device().close();
            }
        }
    }

    private static String defaultName(Path first) {
        String file = first.getFileName().toString();
        int dot = file.indexOf('.');
        String base = dot > 0 ? file.substring(0, dot) : file;
        return base.replaceAll("[^A-Za-z0-9_.-]", "_");
    }
}
