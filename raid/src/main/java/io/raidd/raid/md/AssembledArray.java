package io.raidd.raid.md;

import io.raidd.raid.layout.Geometry;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * An array put together from its members' superblocks: its geometry, state, and which member holds
 * each slot (absent slots are missing). Members that were offered but not used are listed with the
 * reason.
 */
public record AssembledArray(
        Geometry geometry,
        String uuid,
        String name,
        long events,
        boolean clean,
        List<Optional<Member>> slots,
        List<Rejection> rejections) {

    /** A member in its slot. */
    public record Member(NamedDevice device, Superblock superblock) {
        public long dataOffsetBytes() {
            return superblock.dataOffsetBytes();
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
        rejections = List.copyOf(rejections);
    }

    public List<Integer> missingSlots() {
        List<Integer> missing = new ArrayList<>();
        for (int i = 0; i < slots.size(); i++) {
            if (slots.get(i).isEmpty()) {
                missing.add(i);
            }
        }
        return missing;
    }

    public boolean degraded() {
        return !missingSlots().isEmpty();
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
            sb.append(", degraded (missing slots ").append(missingSlots()).append(')');
        }
        for (int i = 0; i < slots.size(); i++) {
            int slot = i;
            slots.get(i)
                    .ifPresent(m -> sb.append("\n  slot ")
                            .append(slot)
                            .append(": ")
                            .append(m.device().name()));
        }
        for (Rejection r : rejections) {
            sb.append("\n  not used: ").append(r);
        }
        return sb.toString();
    }
}
