package io.raidd.raid.meta;

import static io.raidd.raid.md.SuperblockDescriptor.FEATURE_BITMAP_OFFSET;
import static io.raidd.raid.md.SuperblockDescriptor.FEATURE_RECOVERY_OFFSET;
import static io.raidd.raid.md.SuperblockDescriptor.FEATURE_REPLACEMENT;
import static io.raidd.raid.md.SuperblockDescriptor.RESYNC_DONE;
import static io.raidd.raid.md.SuperblockDescriptor.ROLE_FAULTY;
import static io.raidd.raid.md.SuperblockDescriptor.ROLE_MAX;
import static io.raidd.raid.md.SuperblockDescriptor.ROLE_SPARE;

import io.raidd.blockdev.BlockDevice;
import io.raidd.raid.md.ArrayFormatter;
import io.raidd.raid.md.AssembledArray;
import io.raidd.raid.md.InvalidSuperblockException;
import io.raidd.raid.md.MemberFormat;
import io.raidd.raid.md.NamedDevice;
import io.raidd.raid.md.Superblock;
import io.raidd.raid.md.SuperblockCodec;
import io.raidd.raid.md.SuperblockDescriptor;
import io.raidd.raid.member.ArrayMetadata;
import io.raidd.raid.member.Member;
import io.raidd.raid.member.MemberState;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Keeps the superblocks of an array's members current, as md's super_1_sync does: one dev_roles
 * table for the whole array (a slot for members in it, rebuilding ones included; spare; faulty for
 * everything else), written into every member still in the array together with the events counter,
 * which every change bumps. A rebuilding member's own superblock also carries how far it is in sync
 * (recovery_offset) and, for a hot-replace target, md's replacement feature.
 *
 * <p>A member whose superblock cannot be written is left out (the RAID layer fails it on its own
 * I/O); if no member can be written the change is not durable and the caller gets the error.
 */
public final class SuperblockUpdater implements ArrayMetadata {
    private static final System.Logger LOG = System.getLogger("io.raidd.raid");

    /** One device in the array and the superblock last written to (or read from) it. */
    private static final class Entry {
        final NamedDevice device;
        Superblock sb;
        /** A write to it timed out: skipped until it leaves the array (its own I/O fails it). */
        boolean unresponsive;

        Entry(NamedDevice device, Superblock sb) {
            this.device = device;
            this.sb = sb;
        }

        int devNumber() {
            return sb.devNumber();
        }
    }

    /** Superblock writes run here, so a member that hangs delays an update by the timeout at most. */
    private static final java.util.concurrent.ExecutorService WRITERS =
            java.util.concurrent.Executors.newCachedThreadPool(r -> {
                Thread t = new Thread(r, "raidd-superblock");
                t.setDaemon(true);
                return t;
            });

    private final String arrayName;
    private final long writeTimeoutNs;
    private final Map<BlockDevice, Entry> entries = new IdentityHashMap<>();
    /** dev_roles of the array: device number to role. */
    private int[] roles;

    private long events;
    private long resyncOffset;
    /** The array-wide fields new members copy (the newest superblock seen). */
    private Superblock template;

    public SuperblockUpdater(AssembledArray array) {
        this(array, java.time.Duration.ofSeconds(30).toNanos());
    }

    /** @param writeTimeoutNs how long one superblock write may take before its member is skipped */
    public SuperblockUpdater(AssembledArray array, long writeTimeoutNs) {
        this.arrayName = array.name();
        this.writeTimeoutNs = writeTimeoutNs;
        for (AssembledArray.Member m : array.members()) {
            entries.put(m.device().device(), new Entry(m.device(), m.superblock()));
            if (template == null || m.superblock().events() > template.events()) {
                template = m.superblock();
            }
        }
        this.events = template.events();
        this.resyncOffset = array.clean() ? RESYNC_DONE : template.resyncOffset();
        // md's super_1_sync starts from all-faulty and lists the devices present: a slot assembled as
        // missing stops being listed as active, or its member, offered again later with events one
        // behind, would pass as in sync although it missed every write since.
        int[] r = new int[template.maxDev()];
        for (int dev = 0; dev < r.length; dev++) {
            // Unused entries stay as mdadm wrote them (spare); every listed role is re-decided below.
            r[dev] = template.devRole(dev) == ROLE_SPARE ? ROLE_SPARE : ROLE_FAULTY;
        }
        for (int slot = 0; slot < array.slots().size(); slot++) {
            int s = slot;
            array.slots().get(slot).ifPresent(m -> set(r, m.superblock().devNumber(), s));
        }
        for (AssembledArray.Member m : array.replacements()) {
            set(r, m.superblock().devNumber(), m.role());
        }
        for (AssembledArray.Member m : array.spares()) {
            set(r, m.superblock().devNumber(), ROLE_SPARE);
        }
        this.roles = r;
    }

    private static void set(int[] roles, int dev, int role) {
        if (dev < roles.length) {
            roles[dev] = role;
        }
    }

    @Override
    public TagsLocation tagsLocation(Member member) throws IOException {
        Superblock sb;
        synchronized (this) {
            Entry e = entries.get(member.device());
            if (e == null) {
                return null;
            }
            sb = e.sb;
        }
        io.raidd.raid.md.RaiddArea area;
        try {
            area = io.raidd.raid.md.RaiddArea.read(member.device(), sb);
        } catch (io.raidd.raid.md.InvalidSuperblockException e) {
            LOG.log(
                    System.Logger.Level.INFO,
                    "array {0}: {1}: {2}; no integrity tags on it",
                    arrayName,
                    member.name(),
                    e.getMessage());
            return null;
        }
        if (!Arrays.equals(area.arrayUuid(), sb.setUuid()) || !Arrays.equals(area.deviceUuid(), sb.deviceUuid())) {
            LOG.log(
                    System.Logger.Level.WARNING,
                    "array {0}: {1}: its raidd area belongs to another array or device; no integrity tags on it",
                    arrayName,
                    member.name());
            return null;
        }
        if (area.upgradedFromV1()) {
            // Version 1 never held a tag: the region is zeroes (all unknown) once the header says 2.
            member.device().writeZeroes(area.tagsOffsetBytes(), area.tagsBytes());
            member.device().write(area.areaOffsetBytes(), java.nio.ByteBuffer.wrap(area.encode()));
            member.device().flush();
            LOG.log(
                    System.Logger.Level.INFO,
                    "array {0}: {1}: raidd area upgraded to version 2 (checksummed tag blocks)",
                    arrayName,
                    member.name());
        }
        return new TagsLocation(sb.dataSizeBytes(), area.tagsOffsetBytes());
    }

    /** The superblock last written (or read) for a member's device, or null when it is not in the array. */
    public synchronized Superblock superblock(BlockDevice device) {
        Entry e = entries.get(device);
        return e == null ? null : e.sb;
    }

    /** The superblock last written for the member in {@code slot} (not a replacement), or null. */
    public synchronized Superblock superblockOfSlot(int slot) {
        for (Entry e : entries.values()) {
            if (roles[e.devNumber()] == slot && (e.sb.featureMap() & FEATURE_REPLACEMENT) == 0) {
                return e.sb;
            }
        }
        return null;
    }

    public synchronized long events() {
        return events;
    }

    // ----------------------------------------------------------------------------- ArrayMetadata

    @Override
    public synchronized void markDirty() throws IOException {
        resyncOffset = 0;
        update("dirty");
    }

    @Override
    public synchronized void markClean() throws IOException {
        resyncOffset = RESYNC_DONE;
        update("clean");
    }

    @Override
    public synchronized void memberFailed(Member member, String reason) throws IOException {
        Entry e = entries.remove(member.device());
        if (e == null) {
            return;
        }
        roles[e.devNumber()] = ROLE_FAULTY;
        update("member " + member.name() + " faulty");
    }

    @Override
    public synchronized long planNewMember(String name, BlockDevice device) throws IOException {
        if (device.sizeBytes() >= SuperblockDescriptor.SUPER_OFFSET_BYTES + SuperblockDescriptor.BLOCK_BYTES) {
            byte[] block = SuperblockCodec.readBlock(device);
            if (SuperblockCodec.hasMagic(block)) {
                Superblock sb;
                try {
                    sb = SuperblockCodec.decode(block, device.sizeBytes());
                } catch (InvalidSuperblockException e) {
                    throw new IllegalArgumentException(name + " holds an md superblock raidd cannot read ("
                            + e.getMessage() + "); wipe it first (mdadm --zero-superblock) to use it");
                }
                if (!Arrays.equals(sb.setUuid(), template.setUuid())) {
                    throw new IllegalArgumentException(name + " belongs to array " + sb.arrayUuid() + " ('"
                            + sb.setName() + "', RAID-" + sb.level() + "); wipe it first (mdadm --zero-superblock)"
                            + " to use it here");
                }
                // A former member of this array: it is rebuilt in full, like any new member.
            }
        }
        MemberFormat plan = plan(name, device);
        return plan.dataOffsetBytes();
    }

    private MemberFormat plan(String name, BlockDevice device) {
        MemberFormat plan;
        try {
            plan = MemberFormat.plan(device.sizeBytes(), template.level() == 1 ? 0 : template.chunkBytes());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(name + ": " + e.getMessage());
        }
        if (plan.dataSizeBytes() < template.sizeBytes()) {
            throw new IllegalArgumentException(name + " is too small: " + device.sizeBytes() + " bytes hold "
                    + plan.dataSizeBytes() + " bytes of data, array " + arrayName + " needs " + template.sizeBytes()
                    + " per member");
        }
        return plan;
    }

    @Override
    public synchronized void memberAdded(Member member) throws IOException {
        MemberFormat plan = plan(member.name(), member.device());
        int dev = freeDeviceNumber();
        if (dev >= roles.length) {
            roles = Arrays.copyOf(roles, dev + 1);
        }
        Superblock.Builder b = template.toBuilder();
        b.featureMap = template.featureMap() & ~(FEATURE_RECOVERY_OFFSET | FEATURE_REPLACEMENT | FEATURE_BITMAP_OFFSET);
        b.bitmapOffset = 0;
        b.dataOffsetSectors = plan.dataOffsetSectors();
        b.dataSizeSectors = plan.dataSizeSectors();
        b.superOffsetSectors = SuperblockDescriptor.SUPER_OFFSET_SECTORS;
        b.recoveryOffsetSectors = 0;
        b.devNumber = dev;
        b.cntCorrectedRead = 0;
        b.deviceUuid = ArrayFormatter.randomUuid();
        b.devflags = 0;
        b.bblogShift = 0;
        b.bblogSize = plan.bblogSizeSectors();
        b.bblogOffset = plan.bblogOffsetSectors();
        b.maxDev = roles.length;
        b.devRoles = roles.clone();
        if (member.state() == MemberState.REBUILDING) {
            // A hot-replace target joins rebuilding; plain additions join as spares.
            b.featureMap |= FEATURE_RECOVERY_OFFSET | FEATURE_REPLACEMENT;
            roles[dev] = member.slot();
        } else {
            roles[dev] = ROLE_SPARE;
        }
        Superblock sb = b.build().withRoles(roles).withEvents(events).withResyncOffset(resyncOffset);
        NamedDevice named = new NamedDevice(member.name(), member.device());
        ArrayFormatter.writeMember(named, plan, sb);
        entries.put(member.device(), new Entry(named, sb));
        update("member " + member.name() + " added");
    }

    /** The lowest device number no device of the array uses, from raid_disks up as md's bind_rdev_to_array. */
    private int freeDeviceNumber() {
        boolean[] used = new boolean[Math.max(roles.length, template.raidDisks()) + entries.size() + 1];
        for (Entry e : entries.values()) {
            if (e.devNumber() < used.length) {
                used[e.devNumber()] = true;
            }
        }
        for (int dev = 0; dev < roles.length; dev++) {
            if (roles[dev] < ROLE_MAX) {
                used[dev] = true; // a slot still listed (a member absent now) keeps its number
            }
        }
        int dev = template.raidDisks();
        while (dev < used.length && used[dev]) {
            dev++;
        }
        if (dev >= SuperblockDescriptor.MAX_MAX_DEV) {
            throw new IllegalStateException("array " + arrayName + " has no free md device number");
        }
        return dev;
    }

    @Override
    public synchronized void rebuildStarted(Member member) throws IOException {
        Entry e = entry(member);
        roles[e.devNumber()] = member.slot();
        Superblock.Builder b = e.sb.toBuilder();
        b.featureMap |= FEATURE_RECOVERY_OFFSET;
        b.recoveryOffsetSectors = 0;
        e.sb = b.build();
        update("member " + member.name() + " rebuilding into slot " + member.slot());
    }

    @Override
    public synchronized void recoveryCheckpoint(Member member, long recoveredBytes) throws IOException {
        Entry e = entries.get(member.device());
        if (e == null) {
            return;
        }
        Superblock.Builder b = e.sb.toBuilder();
        b.featureMap |= FEATURE_RECOVERY_OFFSET;
        b.recoveryOffsetSectors = recoveredBytes / 512;
        Superblock sb = b.build();
        write(e, sb);
        e.sb = sb;
    }

    @Override
    public synchronized void memberInSync(Member member, Member retired) throws IOException {
        Entry e = entry(member);
        roles[e.devNumber()] = member.slot();
        Superblock.Builder b = e.sb.toBuilder();
        b.featureMap &= ~(FEATURE_RECOVERY_OFFSET | FEATURE_REPLACEMENT);
        b.recoveryOffsetSectors = 0;
        e.sb = b.build();
        if (retired != null) {
            Entry old = entries.remove(retired.device());
            if (old != null) {
                roles[old.devNumber()] = ROLE_FAULTY;
            }
        }
        update("member " + member.name() + " in sync in slot " + member.slot());
    }

    @Override
    public synchronized void memberRemoved(Member member) throws IOException {
        Entry e = entries.remove(member.device());
        if (e != null) {
            roles[e.devNumber()] = ROLE_FAULTY;
        }
        update("member " + member.name() + " removed");
    }

    @Override
    public synchronized List<BlockDevice> unresponsive() {
        List<BlockDevice> out = new ArrayList<>();
        for (Map.Entry<BlockDevice, Entry> e : entries.entrySet()) {
            if (e.getValue().unresponsive) {
                out.add(e.getKey());
            }
        }
        return out;
    }

    /** Writes (and flushes) one superblock, giving up after the write timeout. */
    private void write(Entry e, Superblock sb) throws IOException {
        java.util.concurrent.Future<?> f = WRITERS.submit(() -> {
            SuperblockCodec.write(e.device.device(), sb);
            return null;
        });
        try {
            f.get(writeTimeoutNs, java.util.concurrent.TimeUnit.NANOSECONDS);
        } catch (java.util.concurrent.TimeoutException ex) {
            e.unresponsive = true;
            throw new IOException("superblock write to " + e.device.name() + " timed out after "
                    + java.util.concurrent.TimeUnit.NANOSECONDS.toMillis(writeTimeoutNs) + " ms");
        } catch (java.util.concurrent.ExecutionException ex) {
            Throwable cause = ex.getCause();
            if (cause instanceof IOException io) {
                throw io;
            }
            throw new IOException(cause);
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted writing a superblock to " + e.device.name());
        }
    }

    private Entry entry(Member member) throws IOException {
        Entry e = entries.get(member.device());
        if (e == null) {
            throw new IOException("array " + arrayName + ": " + member.name() + " has no superblock of ours");
        }
        return e;
    }

    /** Writes the current roles, events + 1 and resync state into every member still in the array. */
    private void update(String what) throws IOException {
        long next = events + 1;
        long now = Superblock.mdTime(System.currentTimeMillis() / 1000, 0);
        int written = 0;
        IOException first = null;
        List<Entry> all = new ArrayList<>(entries.values());
        all.sort((a, b) -> Integer.compare(a.devNumber(), b.devNumber()));
        for (Entry e : all) {
            if (e.unresponsive) {
                continue;
            }
            // raidd keeps no md write-intent bitmap; an array md created with one must stop
            // claiming it, or md would trust a bitmap nobody updated (mdadm --update=no-bitmap).
            Superblock sb = e.sb.withRoles(roles)
                    .withEvents(next)
                    .withUtime(now)
                    .withResyncOffset(resyncOffset)
                    .withoutFeature(FEATURE_BITMAP_OFFSET);
            try {
                write(e, sb);
                e.sb = sb;
                written++;
            } catch (IOException ex) {
                LOG.log(
                        Level.WARNING,
                        "array {0}: cannot write superblock ({1}) to {2}: {3}",
                        arrayName,
                        what,
                        e.device.name(),
                        ex.getMessage());
                first = first == null ? ex : first;
            }
        }
        if (written == 0 && first != null) {
            throw new IOException(
                    "array " + arrayName + ": no member took the superblock update (" + what + ")", first);
        }
        events = next;
        if (!all.isEmpty()) {
            template = all.get(0).sb;
        }
    }
}
