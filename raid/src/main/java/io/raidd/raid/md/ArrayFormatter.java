package io.raidd.raid.md;

import static io.raidd.raid.md.SuperblockDescriptor.DEFAULT_MAX_DEV;
import static io.raidd.raid.md.SuperblockDescriptor.RESYNC_DONE;
import static io.raidd.raid.md.SuperblockDescriptor.ROLE_SPARE;
import static io.raidd.raid.md.SuperblockDescriptor.SUPER_OFFSET_SECTORS;

import io.raidd.raid.layout.Geometry;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Writes a new array's metadata onto its members, as mdadm --create would. */
public final class ArrayFormatter {
    private static final SecureRandom RANDOM = new SecureRandom();

    private ArrayFormatter() {}

    /**
     * What to create.
     *
     * @param name the array's name (md's set_name; at most 32 bytes)
     * @param uuid the array UUID (16 bytes), or null for a random one
     * @param membersZeroed the data areas are known to read as zeroes (fresh sparse images), so
     *     parity is consistent and the array starts clean; otherwise it starts dirty and is resynced
     * @param force overwrite members that belong to another array, and accept unequal sizes (the
     *     smallest member decides, as in md)
     */
    public record Spec(
            int level, int layout, int chunkBytes, String name, byte[] uuid, boolean membersZeroed, boolean force) {
        public Spec {
            if (name.isEmpty() || name.getBytes(StandardCharsets.UTF_8).length > 32 || name.contains(":")) {
                throw new IllegalArgumentException("array name must be 1 to 32 bytes without ':', got '" + name + "'");
            }
            if (uuid != null && uuid.length != 16) {
                throw new IllegalArgumentException("array UUID must be 16 bytes");
            }
        }
    }

    /** The array as written: its geometry and each member's superblock and plan. */
    public record Formatted(Geometry geometry, List<Superblock> superblocks, List<MemberFormat> plans) {}

    public static Formatted format(List<NamedDevice> members, Spec spec) throws IOException {
        checkDistinct(members);
        for (NamedDevice m : members) {
            refuseForeign(m, spec.force());
        }
        int chunk = spec.level() == 1 ? 0 : spec.chunkBytes();
        List<MemberFormat> plans = new ArrayList<>();
        long smallest = Long.MAX_VALUE;
        long largest = 0;
        for (NamedDevice m : members) {
            MemberFormat plan;
            try {
                plan = MemberFormat.plan(m.device().sizeBytes(), chunk);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(m.name() + ": " + e.getMessage());
            }
            plans.add(plan);
            smallest = Math.min(smallest, plan.dataSizeBytes());
            largest = Math.max(largest, plan.dataSizeBytes());
        }
        Geometry geometry = Geometry.of(
                spec.level(), spec.layout(), spec.level() == 1 ? 4096 : spec.chunkBytes(), members.size(), smallest);
        long wasted = largest - smallest;
        if (geometry.level() == 0 && wasted > 0) {
            throw new IllegalArgumentException(
                    "RAID-0 members must be the same size (raidd does not build md's multi-zone RAID-0): "
                            + describeSizes(members));
        }
        if (wasted > 0 && !spec.force()) {
            throw new IllegalArgumentException("members differ in size (" + describeSizes(members) + "); RAID-"
                    + geometry.level() + " would use only " + smallest + " bytes of each; use --force to accept that");
        }
        byte[] uuid = spec.uuid() != null ? spec.uuid().clone() : randomUuid();
        long now = Superblock.mdTime(System.currentTimeMillis() / 1000, 0);
        List<Superblock> written = new ArrayList<>();
        for (int slot = 0; slot < members.size(); slot++) {
            NamedDevice m = members.get(slot);
            MemberFormat plan = plans.get(slot);
            int[] roles = new int[DEFAULT_MAX_DEV];
            Arrays.fill(roles, ROLE_SPARE);
            for (int i = 0; i < members.size(); i++) {
                roles[i] = i;
            }
            byte[] deviceUuid = randomUuid();
            Superblock sb = new Superblock(
                    geometry.level() == 0 ? SuperblockDescriptor.FEATURE_RAID0_LAYOUT : 0,
                    uuid,
                    spec.name(),
                    now,
                    geometry.level(),
                    geometry.layoutCode(),
                    geometry.memberUsedBytes() / 512,
                    chunk / 512,
                    geometry.raidDisks(),
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                    plan.dataOffsetSectors(),
                    plan.dataSizeSectors(),
                    SUPER_OFFSET_SECTORS,
                    0,
                    slot,
                    0,
                    deviceUuid,
                    0,
                    0,
                    plan.bblogSizeSectors(),
                    plan.bblogOffsetSectors(),
                    now,
                    1,
                    spec.membersZeroed() ? RESYNC_DONE : 0,
                    DEFAULT_MAX_DEV,
                    roles);
            writeMember(m, plan, sb);
            written.add(sb);
        }
        return new Formatted(geometry, written, plans);
    }

    /**
     * Writes a member's metadata: md's reserved areas cleared (bitmap, bad-block log) so stale bytes
     * never look valid, raidd's area header, then the superblock, then a flush.
     */
    public static void writeMember(NamedDevice m, MemberFormat plan, Superblock sb) throws IOException {
        try {
            m.device()
                    .writeZeroes(
                            SuperblockDescriptor.SUPER_OFFSET_BYTES,
                            plan.dataOffsetBytes() - SuperblockDescriptor.SUPER_OFFSET_BYTES);
            RaiddArea.of(plan, sb.setUuid(), sb.deviceUuid()).write(m.device());
            m.device().write(SuperblockDescriptor.SUPER_OFFSET_BYTES, ByteBuffer.wrap(SuperblockCodec.encode(sb)));
            m.device().flush();
        } catch (IOException e) {
            throw new IOException(m.name() + ": writing metadata failed: " + e.getMessage(), e);
        }
    }

    private static void checkDistinct(List<NamedDevice> members) {
        for (int i = 0; i < members.size(); i++) {
            for (int j = 0; j < i; j++) {
                if (members.get(i).name().equals(members.get(j).name())
                        || members.get(i).device() == members.get(j).device()) {
                    throw new IllegalArgumentException(
                            "member " + members.get(i).name() + " is given twice");
                }
            }
        }
    }

    private static void refuseForeign(NamedDevice m, boolean force) throws IOException {
        if (force
                || m.device().sizeBytes()
                        < SuperblockDescriptor.SUPER_OFFSET_BYTES + SuperblockDescriptor.BLOCK_BYTES) {
            return;
        }
        byte[] block = SuperblockCodec.readBlock(m.device());
        if (!SuperblockCodec.hasMagic(block)) {
            return;
        }
        String what;
        try {
            Superblock sb = SuperblockCodec.decode(block, m.device().sizeBytes());
            what = "belongs to array " + sb.arrayUuid() + " ('" + sb.setName() + "', RAID-" + sb.level() + ")";
        } catch (InvalidSuperblockException e) {
            what = "holds an md superblock (" + e.getMessage() + ")";
        }
        throw new IllegalArgumentException("member " + m.name() + " " + what + "; use --force to overwrite it");
    }

    private static String describeSizes(List<NamedDevice> members) {
        StringBuilder sb = new StringBuilder();
        for (NamedDevice m : members) {
            sb.append(sb.length() == 0 ? "" : ", ")
                    .append(m.name())
                    .append(' ')
                    .append(m.device().sizeBytes());
        }
        return sb.toString();
    }

    public static byte[] randomUuid() {
        byte[] uuid = new byte[16];
        RANDOM.nextBytes(uuid);
        return uuid;
    }
}
