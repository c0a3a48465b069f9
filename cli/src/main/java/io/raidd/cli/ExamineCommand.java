package io.raidd.cli;

import io.raidd.blockdev.BlockDevice;
import io.raidd.blockdev.BlockDevices;
import io.raidd.raid.layout.Geometry;
import io.raidd.raid.md.InvalidSuperblockException;
import io.raidd.raid.md.RaiddArea;
import io.raidd.raid.md.Superblock;
import io.raidd.raid.md.SuperblockCodec;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code raidctl examine}: decodes members' superblocks, like mdadm --examine. */
@Command(name = "examine", mixinStandardHelpOptions = true, description = "Prints the md superblock of each member.")
final class ExamineCommand implements Callable<Integer> {

    @Option(names = "--json", description = "One JSON object per member.")
    boolean json;

    @Parameters(arity = "1..*", paramLabel = "MEMBER")
    List<Path> members;

    @Override
    public Integer call() throws IOException {
        int status = 0;
        StringBuilder out = new StringBuilder(json ? "[" : "");
        for (int i = 0; i < members.size(); i++) {
            Path p = members.get(i);
            try (BlockDevice d = BlockDevices.open(p, true)) {
                Superblock sb = SuperblockCodec.read(d);
                String area;
                try {
                    RaiddArea a = RaiddArea.read(d, sb);
                    area = "tags " + a.tagsBytes() + " bytes at " + a.tagsOffsetBytes() + ", area " + a.areaBytes()
                            + " bytes at " + a.areaOffsetBytes();
                } catch (InvalidSuperblockException e) {
                    area = "none (" + e.getMessage() + ")";
                }
                out.append(json ? (i > 0 ? ",\n" : "\n") + Examine.json(p, sb) : Examine.human(p, sb, area));
            } catch (InvalidSuperblockException e) {
                System.err.println("raidctl: " + p + ": " + e.getMessage());
                status = 1;
            }
        }
        if (json) {
            out.append("\n]\n");
        }
        System.out.print(out);
        return status;
    }

    /** The two renderings. */
    static final class Examine {
        private Examine() {}

        static String human(Path p, Superblock sb, String area) {
            String layout = Geometry.layoutName(sb.level(), sb.layout());
            StringBuilder s = new StringBuilder();
            s.append(p).append(":\n");
            line(s, "Magic", "a92b4efc");
            line(s, "Version", "1.2");
            line(s, "Feature Map", "0x" + Integer.toHexString(sb.featureMap()));
            line(s, "Array UUID", sb.arrayUuid());
            line(s, "Name", sb.setName());
            line(
                    s,
                    "Creation Time",
                    Instant.ofEpochSecond(Superblock.seconds(sb.ctime())).toString());
            line(s, "Raid Level", "raid" + sb.level());
            line(s, "Raid Devices", String.valueOf(sb.raidDisks()));
            line(s, "Avail Dev Size", sb.dataSizeSectors() + " sectors (" + Sizes.human(sb.dataSizeBytes()) + ")");
            line(s, "Used Dev Size", sb.sizeSectors() + " sectors (" + Sizes.human(sb.sizeBytes()) + ")");
            line(s, "Data Offset", sb.dataOffsetSectors() + " sectors");
            line(s, "Super Offset", sb.superOffsetSectors() + " sectors");
            line(s, "State", sb.clean() ? "clean" : "active (not clean: resync on next start)");
            line(s, "Device UUID", sb.deviceUuidText());
            line(
                    s,
                    "Update Time",
                    Instant.ofEpochSecond(Superblock.seconds(sb.utime())).toString());
            line(
                    s,
                    "Checksum",
                    String.format("%08x - correct", SuperblockCodec.checksum(SuperblockCodec.encode(sb), sb.maxDev())));
            line(s, "Events", String.valueOf(sb.events()));
            if (!layout.equals("-")) {
                line(s, "Layout", layout);
            }
            if (sb.level() != 1) {
                line(s, "Chunk Size", sb.chunkBytes() / 1024 + "K");
            }
            line(
                    s,
                    "Device Role",
                    sb.role() < 0xff00 ? "Active device " + sb.role() : sb.role() == 0xfffe ? "faulty" : "spare");
            line(s, "Array State", sb.arrayState() + " ('A' == active, '.' == missing)");
            line(s, "raidd area", area);
            return s.append('\n').toString();
        }

        private static void line(StringBuilder s, String key, String value) {
            s.append(String.format("%16s : %s%n", key, value));
        }

        static String json(Path p, Superblock sb) {
            return "  {\"member\": " + quote(p.toString()) + ", \"arrayUuid\": " + quote(sb.arrayUuid())
                    + ", \"name\": " + quote(sb.setName())
                    + ", \"level\": " + sb.level() + ", \"layout\": "
                    + quote(Geometry.layoutName(sb.level(), sb.layout()))
                    + ", \"layoutCode\": " + sb.layout() + ", \"chunkBytes\": " + sb.chunkBytes()
                    + ", \"raidDevices\": " + sb.raidDisks()
                    + ", \"role\": "
                    + (sb.role() < 0xff00 ? String.valueOf(sb.role()) : quote(sb.role() == 0xfffe ? "faulty" : "spare"))
                    + ", \"devNumber\": " + sb.devNumber() + ", \"deviceUuid\": " + quote(sb.deviceUuidText())
                    + ", \"events\": " + sb.events()
                    + ", \"clean\": " + sb.clean() + ", \"arrayState\": " + quote(sb.arrayState())
                    + ", \"dataOffsetSectors\": "
                    + sb.dataOffsetSectors() + ", \"dataSizeSectors\": " + sb.dataSizeSectors()
                    + ", \"usedSizeSectors\": " + sb.sizeSectors()
                    + ", \"checksumCorrect\": true}";
        }

        static String quote(String s) {
            StringBuilder b = new StringBuilder("\"");
            for (char c : s.toCharArray()) {
                switch (c) {
                    case '"' -> b.append("\\\"");
                    case '\\' -> b.append("\\\\");
                    case '\n' -> b.append("\\n");
                    default -> {
                        if (c < 0x20) {
                            b.append(String.format("\\u%04x", (int) c));
                        } else {
                            b.append(c);
                        }
                    }
                }
            }
            return b.append('"').toString();
        }
    }
}
