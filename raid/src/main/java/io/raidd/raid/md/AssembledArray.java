package io.raidd.raid.md;

import static io.raidd.raid.md.SuperblockDescriptor.FEATURE_RECOVERY_OFFSET;
import static io.raidd.raid.md.SuperblockDescriptor.FEATURE_REPLACEMENT;

import io.raidd.raid.layout.Geometry;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * An array put together from its members' superblocks: its geometry, state, which member holds each
 * slot (absent slots are missing; a member may be in sync or still being rebuilt), hot-replace
 * targets, spares, and the members that were offered but not used, with the reason.
 *
 * @param forced what {@code --force} put back into the array, one line each (empty without it)
 */
public record AssembledArray(
        Geometry geometry,
        String uuid,
        String name,
        long events,
        boolean clean,
        List<Optional<Member>> slots,
        List<Member> replacements,
        List<Member> spares,
        List<Rejection> rejections,
        List<String> forced) {

    /** A member as its superblock describes it. */
    public record Member(NamedDevice device, Superblock superblock) {
        public long dataOffsetBytes() {
            return superblock.dataOffsetBytes();
        }

        /** The slot its superblock claims, or a role constant for spares. */
        public int role() {
            return superblock.role();
        }

        /** Still being rebuilt (md's recovery_offset feature): in sync only below {@link #recoveredBytes}. */
        public boolean rebuilding() {
            return (superblock.featureMap() & (FEATURE_RECOVERY_OFFSET | FEATURE_REPLACEMENT)) != 0;
        }

        /** Data bytes in sync on a rebuilding member (md's recovery_offset). */
        public long recoveredBytes() {
            return (superblock.featureMap() & FEATURE_RECOVERY_OFFSET) != 0
                    ? superblock.recoveryOffsetSectors() * 512
                    : 0;
        }

        /** A hot-replace target (md's replacement feature). */
        public boolean replacement() {
            return (superblock.featureMap() & FEATURE_REPLACEMENT) != 0;
        }
    }

    /** A member that was not used, and why. */
    public record Rejection(String member, String reason) {
        @Override
        public String toString() {
            return member + ": " + reason;
        }
    }

    public AssembledArray {
        slots = List.copyOf(slots);
        replacements = List.copyOf(replacements);
        spares = List.copyOf(spares);
        rejections = List.copyOf(rejections);
        forced = List.copyOf(forced);
    }

    /** Slots without a member in sync (absent, or still being rebuilt). */
    public List<Integer> missingSlots() {
        List<Integer> missing = new ArrayList<>();
        for (int i = 0; i < slots.size(); i++) {
            if (slots.get(i).isEmpty() || slots.get(i).get().rebuilding()) {
                missing.add(i);
            }
        }
        return missing;
    }

    public boolean degraded() {
        return !missingSlots().isEmpty();
    }

    /** Every member used: slots, replacements, spares. */
    public List<Member> members() {
        List<Member> out = new ArrayList<>();
        slots.forEach(s -> s.ifPresent(out::add));
        out.addAll(replacements);
        out.addAll(spares);
        return out;
    }

    /** One paragraph for the log. */
    public String describe() {
        StringBuilder sb = new StringBuilder();
        sb.append("array '")
                .append(name)
                .append("' (")
                .append(uuid)
                .append("): ")
                .append(geometry)
                .append(", events ")
                .append(events)
                .append(clean ? ", clean" : ", dirty");
        if (degraded()) {
            sb.append(", degraded (slots not in sync: ").append(missingSlots()).append(')');
        }
        for (int i = 0; i < slots.size(); i++) {
            int slot = i;
            slots.get(i)
                    .ifPresent(m -> sb.append("\n  slot ")
                            .append(slot)
                            .append(": ")
                            .append(m.device().name())
                            .append(m.rebuilding() ? " (rebuilding, " + m.recoveredBytes() + " bytes in sync)" : ""));
        }
        for (Member m : replacements) {
            sb.append("\n  slot ")
                    .append(m.role())
                    .append(" replacement: ")
                    .append(m.device().name())
                    .append(" (")
                    .append(m.recoveredBytes())
                    .append(" bytes in sync)");
        }
        for (Member m : spares) {
            sb.append("\n  spare: ").append(m.device().name());
        }
        for (String f : forced) {
            sb.append("\n  forced: ").append(f);
        }
        for (Rejection r : rejections) {
            sb.append("\n  not used: ").append(r);
        }
        return sb.toString();
    }
}
