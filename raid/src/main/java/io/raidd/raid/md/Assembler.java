package io.raidd.raid.md;

import static io.raidd.raid.md.SuperblockDescriptor.ROLE_FAULTY;
import static io.raidd.raid.md.SuperblockDescriptor.ROLE_MAX;

import io.raidd.raid.layout.Geometry;
import io.raidd.raid.layout.Redundancy;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Puts arrays together from member devices, with md's rules: group by array UUID, trust the member
 * with the most events, use members whose events are at most one behind it (md.c super_1_validate
 * insists on {@code events + 1 >= newest} while assembling; mdadm Assemble.c allows the same margin
 * of one) and whose role the newest superblock still lists as active, and refuse to start a
 * RAID-4/5/6 array that is both dirty and degraded unless forced (md's start_dirty_degraded, in
 * raid5.c): its parity may not match its data, so the missing member's contents cannot be
 * trusted. Mirrors have no parity to distrust and start dirty and degraded, as in md.
 */
public final class Assembler {
    private Assembler() {}

    /** Every array found among the members, and the members that belong to none. */
    public record Scan(List<AssembledArray> arrays, List<AssembledArray.Rejection> unusable) {}

    /**
     * Assembles every array the members form.
     *
     * @throws AssemblyException when an array cannot start (too many members missing, dirty and
     *     degraded without {@code force}, inconsistent members); the message names the array, the
     *     members and the reason
     */
    public static Scan scan(List<NamedDevice> devices, boolean force) throws IOException {
        Map<String, List<Candidate>> groups = new LinkedHashMap<>();
        List<AssembledArray.Rejection> unusable = new ArrayList<>();
        for (NamedDevice d : devices) {
            try {
                Superblock sb = SuperblockCodec.read(d.device());
                groups.computeIfAbsent(sb.arrayUuid(), k -> new ArrayList<>()).add(new Candidate(d, sb));
            } catch (InvalidSuperblockException e) {
                unusable.add(new AssembledArray.Rejection(d.name(), e.getMessage()));
            }
        }
        List<AssembledArray> arrays = new ArrayList<>();
        for (List<Candidate> group : groups.values()) {
            arrays.add(assemble(group, force));
        }
        return new Scan(arrays, unusable);
    }

    /** Assembles the one array the members form; foreign and unreadable members are refused. */
    public static AssembledArray assembleOne(List<NamedDevice> devices, boolean force) throws IOException {
        Scan scan = scan(devices, force);
        if (scan.arrays().isEmpty()) {
            throw new AssemblyException("no array found: " + scan.unusable());
        }
        if (scan.arrays().size() > 1 || !scan.unusable().isEmpty()) {
            StringBuilder sb = new StringBuilder("members do not form one array:");
            for (AssembledArray a : scan.arrays()) {
                sb.append(" array ")
                        .append(a.uuid())
                        .append(" ('")
                        .append(a.name())
                        .append("')");
            }
            for (AssembledArray.Rejection r : scan.unusable()) {
                sb.append("; ").append(r);
            }
            throw new AssemblyException(sb.toString());
        }
        return scan.arrays().get(0);
    }

    private record Candidate(NamedDevice device, Superblock sb) {}

    private static AssembledArray assemble(List<Candidate> group, boolean force) throws AssemblyException {
        Candidate newest = group.get(0);
        for (Candidate c : group) {
            if (c.sb.events() > newest.sb.events()) {
                newest = c;
            }
        }
        Superblock ref = newest.sb;
        String arrayName = ref.shortName();
        List<AssembledArray.Rejection> rejections = new ArrayList<>();
        AssembledArray.Member[] slots = new AssembledArray.Member[ref.raidDisks()];
        boolean clean = true;
        for (Candidate c : group) {
            String reason = reject(c, ref, slots);
            if (reason != null) {
                rejections.add(new AssembledArray.Rejection(c.device.name(), reason));
                continue;
            }
            slots[ref.devRole(c.sb.devNumber())] = new AssembledArray.Member(c.device, c.sb);
            clean &= c.sb.clean();
        }
        Geometry geometry;
        try {
            long component = ref.sizeSectors() * 512;
            if (ref.level() == 0 && component == 0) {
                component = ref.dataSizeBytes();
            }
            geometry = Geometry.of(
                    ref.level(), ref.layout(), ref.level() == 1 ? 4096 : ref.chunkBytes(), ref.raidDisks(), component);
        } catch (IllegalArgumentException e) {
            throw new AssemblyException("array '" + arrayName + "' (" + ref.arrayUuid() + "): " + e.getMessage());
        }
        List<Optional<AssembledArray.Member>> slotList = new ArrayList<>();
        List<Integer> missing = new ArrayList<>();
        for (int i = 0; i < slots.length; i++) {
            slotList.add(Optional.ofNullable(slots[i]));
            if (slots[i] == null) {
                missing.add(i);
            }
        }
        AssembledArray array =
                new AssembledArray(geometry, ref.arrayUuid(), arrayName, ref.events(), clean, slotList, rejections);
        String prefix = "array '" + arrayName + "' (" + ref.arrayUuid() + ")";
        if (!complete(geometry, slots)) {
            throw new AssemblyException(
                    prefix + " cannot start: slots " + missing + " missing, more than RAID-" + geometry.level()
                            + " with " + geometry.raidDisks() + " members tolerates" + rejectionSuffix(rejections));
        }
        if (!clean && !missing.isEmpty() && geometry.parityLayout() != null && !force) {
            throw new AssemblyException(prefix + " was not shut down cleanly and is degraded (slots " + missing
                    + " missing): its parity may not match its data, so the missing data cannot be trusted. Start it anyway with --force"
                    + " (md: start_dirty_degraded)" + rejectionSuffix(rejections));
        }
        return array;
    }

    private static String rejectionSuffix(List<AssembledArray.Rejection> rejections) {
        return rejections.isEmpty() ? "" : "; not used: " + rejections;
    }

    /** Why {@code c} cannot take its slot, or null when it can. */
    private static String reject(Candidate c, Superblock ref, AssembledArray.Member[] slots) {
        Superblock sb = c.sb;
        if (sb.level() != ref.level()
                || sb.layout() != ref.layout()
                || sb.chunkSectors() != ref.chunkSectors()
                || sb.raidDisks() != ref.raidDisks()
                || sb.sizeSectors() != ref.sizeSectors()) {
            return "geometry differs from the newest member's (RAID-" + sb.level() + " layout " + sb.layout()
                    + " chunk "
                    + sb.chunkSectors() + " disks " + sb.raidDisks() + " size " + sb.sizeSectors() + " vs RAID-"
                    + ref.level() + " layout "
                    + ref.layout() + " chunk " + ref.chunkSectors() + " disks " + ref.raidDisks() + " size "
                    + ref.sizeSectors() + ")";
        }
        int role = ref.devRole(sb.devNumber());
        if (role == ROLE_FAULTY) {
            return "marked faulty by the array (events " + ref.events() + ")";
        }
        if (role >= ROLE_MAX) {
            return sb.role() < ROLE_MAX
                    ? "left out of the array while it was written (events " + sb.events() + ", array at " + ref.events()
                            + "); it must be rebuilt"
                    : "not an active member (role 0x" + Integer.toHexString(role) + ")";
        }
        if (role >= ref.raidDisks()) {
            return "role " + role + " is outside the array's " + ref.raidDisks() + " slots";
        }
        if (slots[role] != null) {
            return "slot " + role + " is already held by "
                    + slots[role].device().name();
        }
        for (AssembledArray.Member m : slots) {
            if (m != null && Arrays.equals(m.superblock().deviceUuid(), sb.deviceUuid())) {
                return "same device UUID as " + m.device().name() + " (the same member given twice?)";
            }
        }
        if (sb.events() + 1 < ref.events()) {
            return "stale: events " + sb.events() + ", the array is at " + ref.events()
                    + " (it missed writes and must be rebuilt)";
        }
        long needed = sb.dataOffsetBytes() + ref.sizeBytes();
        if (c.device.device().sizeBytes() < needed) {
            return "device has " + c.device.device().sizeBytes() + " bytes, the array needs " + needed;
        }
        return null;
    }

    /** Every part of the volume still has a source ({@link Redundancy}). */
    static boolean complete(Geometry g, Object[] slots) {
        return Redundancy.complete(g, slot -> slots[slot] != null);
    }
}
