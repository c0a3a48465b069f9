package io.raidd.raid.md;

import static io.raidd.raid.md.SuperblockDescriptor.ROLE_FAULTY;
import static io.raidd.raid.md.SuperblockDescriptor.ROLE_MAX;
import static io.raidd.raid.md.SuperblockDescriptor.ROLE_SPARE;

import io.raidd.raid.layout.Geometry;
import io.raidd.raid.layout.Redundancy;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Puts arrays together from member devices, with md's rules: group by array UUID, trust the member
 * with the most events, use members whose events are at most one behind it (md.c super_1_validate
 * insists on {@code events + 1 >= newest} while assembling; mdadm Assemble.c allows the same margin
 * of one) and whose role the newest superblock still lists, and refuse to start a RAID-4/5/6 array
 * that is both dirty and degraded unless forced (md's start_dirty_degraded, in raid5.c): its parity
 * may not match its data, so the missing member's contents cannot be trusted. Mirrors have no
 * parity to distrust and start dirty and degraded, as in md.
 *
 * <p>A member still being rebuilt (md's recovery_offset feature) takes its slot but does not count
 * as in sync; a hot-replace target (md's replacement feature) sits beside its slot's member, and
 * takes the slot when that member is absent; spares are kept as spares. With {@code force}, an array
 * that cannot start otherwise takes back, freshest first, members the array had marked faulty or
 * that missed writes (mdadm --assemble --force), and says so in {@link AssembledArray#forced()}.
 */
public final class Assembler {
    private Assembler() {}

    /**
     * Every array found among the members, the arrays that cannot start (with why), and the members
     * that belong to none.
     */
    public record Scan(
            List<AssembledArray> arrays, List<AssemblyException> refused, List<AssembledArray.Rejection> unusable) {}

    /**
     * Assembles every array the members form. An array that cannot start does not stop the others:
     * it is listed in {@link Scan#refused()}.
     *
     * @throws AssemblyException when the members are ambiguous (two copies of one member): nothing
     *     is safe to start then
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
        for (List<Candidate> group : groups.values()) {
            refuseCopies(group);
        }
        List<AssembledArray> arrays = new ArrayList<>();
        List<AssemblyException> refused = new ArrayList<>();
        for (List<Candidate> group : groups.values()) {
            try {
                arrays.add(assemble(group, force));
            } catch (AssemblyException e) {
                refused.add(e);
            }
        }
        return new Scan(arrays, refused, unusable);
    }

    /** Assembles the one array the members form; foreign and unreadable members are refused. */
    public static AssembledArray assembleOne(List<NamedDevice> devices, boolean force) throws IOException {
        Scan scan = scan(devices, force);
        if (!scan.refused().isEmpty()) {
            throw scan.refused().get(0);
        }
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

    private record Candidate(NamedDevice device, Superblock sb) {
        AssembledArray.Member member() {
            return new AssembledArray.Member(device, sb);
        }
    }

    /** Why a candidate cannot take part; {@code forcible} ones may be taken back with --force. */
    private record Refusal(String reason, boolean forcible) {}

    /** Two devices carrying one member's identity (a byte copy beside the original): refuse both. */
    private static void refuseCopies(List<Candidate> group) throws AssemblyException {
        for (int i = 0; i < group.size(); i++) {
            for (int j = 0; j < i; j++) {
                Candidate a = group.get(j);
                Candidate b = group.get(i);
                if (Arrays.equals(a.sb.deviceUuid(), b.sb.deviceUuid())) {
                    throw new AssemblyException(a.device.name() + " and " + b.device.name()
                            + " are the same member of array '" + a.sb.shortName() + "' (device UUID "
                            + a.sb.deviceUuidText() + ", slot " + roleText(a.sb.role())
                            + "): one is a copy of the other; give only one of them");
                }
            }
        }
    }

    private static String roleText(int role) {
        return role < ROLE_MAX ? String.valueOf(role) : role == ROLE_SPARE ? "spare" : "0x" + Integer.toHexString(role);
    }

    private static AssembledArray assemble(List<Candidate> group, boolean force) throws AssemblyException {
        Candidate newest = group.get(0);
        for (Candidate c : group) {
            if (c.sb.events() > newest.sb.events()) {
                newest = c;
            }
        }
        Superblock ref = newest.sb;
        String arrayName = ref.shortName();
        String prefix = "array '" + arrayName + "' (" + ref.arrayUuid() + ")";
        List<Candidate> byFreshness = new ArrayList<>(group);
        byFreshness.sort(
                Comparator.comparingLong((Candidate c) -> c.sb.events()).reversed());
        Candidate[] slots = new Candidate[ref.raidDisks()];
        Candidate[] replacements = new Candidate[ref.raidDisks()];
        List<Candidate> spares = new ArrayList<>();
        List<AssembledArray.Rejection> rejections = new ArrayList<>();
        List<Candidate> forcible = new ArrayList<>();
        for (Candidate c : byFreshness) {
            Refusal refusal = refuse(c, ref);
            if (refusal == null) {
                refusal = place(c, ref, slots, replacements, spares);
            }
            if (refusal != null) {
                rejections.add(new AssembledArray.Rejection(c.device.name(), refusal.reason));
                if (refusal.forcible) {
                    forcible.add(c);
                }
            }
        }
        for (int slot = 0; slot < slots.length; slot++) {
            if (slots[slot] == null && replacements[slot] != null) {
                // The member being replaced is gone: its replacement carries on as the slot's member.
                slots[slot] = replacements[slot];
                replacements[slot] = null;
            }
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
            throw new AssemblyException(prefix + ": " + e.getMessage());
        }
        List<String> forced = new ArrayList<>();
        if (!inSync(geometry, slots) && force) {
            forceBack(geometry, ref, forcible, slots, rejections, forced);
        }
        boolean clean = forced.isEmpty();
        List<Optional<AssembledArray.Member>> slotList = new ArrayList<>();
        for (Candidate s : slots) {
            slotList.add(Optional.ofNullable(s).map(Candidate::member));
            clean &= s == null || s.sb.clean();
        }
        List<AssembledArray.Member> replacementList = new ArrayList<>();
        for (Candidate r : replacements) {
            if (r != null) {
                replacementList.add(r.member());
                clean &= r.sb.clean();
            }
        }
        List<AssembledArray.Member> spareList = new ArrayList<>();
        for (Candidate s : spares) {
            spareList.add(s.member());
        }
        AssembledArray array = new AssembledArray(
                geometry,
                ref.arrayUuid(),
                arrayName,
                ref.events(),
                clean,
                slotList,
                replacementList,
                spareList,
                rejections,
                forced);
        List<Integer> missing = array.missingSlots();
        if (!inSync(geometry, slots)) {
            throw new AssemblyException(prefix + " cannot start: slots " + missing + " have no member in sync,"
                    + " more than RAID-" + geometry.level() + " with " + geometry.raidDisks() + " members tolerates"
                    + (force ? "" : forcible.isEmpty() ? "" : " (--force would take back " + names(forcible) + ")")
                    + rejectionSuffix(rejections) + memberSuffix(group));
        }
        if (!clean && !missing.isEmpty() && geometry.parityLayout() != null && !force) {
            throw new AssemblyException(prefix + " was not shut down cleanly and is degraded (slots " + missing
                    + " not in sync): its parity may not match its data, so the missing data cannot be trusted."
                    + " Start it anyway with --force (md: start_dirty_degraded)" + rejectionSuffix(rejections)
                    + memberSuffix(group));
        }
        return array;
    }

    /** Puts an acceptable candidate where its role says; a refusal when that place is taken. */
    private static Refusal place(
            Candidate c, Superblock ref, Candidate[] slots, Candidate[] replacements, List<Candidate> spares) {
        int role = ref.devRole(c.sb.devNumber());
        if (role == ROLE_SPARE) {
            spares.add(c);
            return null;
        }
        boolean replacement = c.member().replacement();
        Candidate[] table = replacement ? replacements : slots;
        if (table[role] != null) {
            return new Refusal(
                    (replacement
                                    ? "slot " + role + "'s replacement is already "
                                    : "slot " + role + " is already held by ")
                            + table[role].device.name(),
                    false);
        }
        table[role] = c;
        return null;
    }

    /** Slots whose member is in sync (not rebuilding) cover the volume. */
    private static boolean inSync(Geometry g, Candidate[] slots) {
        return Redundancy.complete(
                g, slot -> slots[slot] != null && !slots[slot].member().rebuilding());
    }

    /**
     * mdadm --assemble --force: takes back members the array marked faulty or that missed writes,
     * freshest first, into the slots their own superblocks claim, until the array can start.
     */
    private static void forceBack(
            Geometry geometry,
            Superblock ref,
            List<Candidate> forcible,
            Candidate[] slots,
            List<AssembledArray.Rejection> rejections,
            List<String> forced) {
        for (Candidate c : forcible) {
            if (inSync(geometry, slots)) {
                return;
            }
            int role = c.sb.role();
            if (role >= slots.length || slots[role] != null) {
                continue;
            }
            slots[role] = c;
            rejections.removeIf(r -> r.member().equals(c.device.name()));
            forced.add(c.device.name() + " (slot " + role + ", events " + c.sb.events() + ") forced back into the"
                    + " array at events " + ref.events()
                    + (c.sb.events() < ref.events()
                            ? ": writes after its events " + c.sb.events() + " may be missing from it"
                            : ": it was marked faulty but is as fresh as the array"));
        }
    }

    private static String names(List<Candidate> cs) {
        StringBuilder sb = new StringBuilder();
        for (Candidate c : cs) {
            sb.append(sb.length() == 0 ? "" : ", ").append(c.device.name());
        }
        return sb.toString();
    }

    private static String rejectionSuffix(List<AssembledArray.Rejection> rejections) {
        return rejections.isEmpty() ? "" : "; not used: " + rejections;
    }

    private static String memberSuffix(List<Candidate> group) {
        return "; members given: " + names(group);
    }

    /** Why {@code c} cannot take part at all, or null when it can. */
    private static Refusal refuse(Candidate c, Superblock ref) {
        Superblock sb = c.sb;
        if (sb.level() != ref.level()
                || sb.layout() != ref.layout()
                || sb.chunkSectors() != ref.chunkSectors()
                || sb.raidDisks() != ref.raidDisks()
                || sb.sizeSectors() != ref.sizeSectors()) {
            return new Refusal(
                    "geometry differs from the newest member's (RAID-" + sb.level() + " layout " + sb.layout()
                            + " chunk " + sb.chunkSectors() + " disks " + sb.raidDisks() + " size "
                            + sb.sizeSectors() + " vs RAID-" + ref.level() + " layout " + ref.layout() + " chunk "
                            + ref.chunkSectors() + " disks " + ref.raidDisks() + " size " + ref.sizeSectors() + ")",
                    false);
        }
        int role = ref.devRole(sb.devNumber());
        if (role == ROLE_FAULTY) {
            return new Refusal("marked faulty by the array (events " + ref.events() + ")", true);
        }
        if (role == ROLE_SPARE) {
            if (sb.role() < ROLE_MAX) {
                return new Refusal(
                        "left out of the array while it was written (events " + sb.events() + ", array at "
                                + ref.events() + "); it must be rebuilt",
                        true);
            }
            return sizeRefusal(c, ref);
        }
        if (role >= ROLE_MAX) {
            return new Refusal("not an active member (role 0x" + Integer.toHexString(role) + ")", false);
        }
        if (role >= ref.raidDisks()) {
            return new Refusal("role " + role + " is outside the array's " + ref.raidDisks() + " slots", false);
        }
        if (sb.events() + 1 < ref.events()) {
            return new Refusal(
                    "stale: events " + sb.events() + ", the array is at " + ref.events()
                            + " (it missed writes and must be rebuilt)",
                    true);
        }
        return sizeRefusal(c, ref);
    }

    private static Refusal sizeRefusal(Candidate c, Superblock ref) {
        long needed = c.sb.dataOffsetBytes() + ref.sizeBytes();
        if (c.device.device().sizeBytes() < needed) {
            return new Refusal(
                    "device has " + c.device.device().sizeBytes() + " bytes, the array needs " + needed, false);
        }
        return null;
    }

    /** Every part of the volume still has a source ({@link Redundancy}). */
    static boolean complete(Geometry g, Object[] slots) {
        return Redundancy.complete(g, slot -> slots[slot] != null);
    }
}
