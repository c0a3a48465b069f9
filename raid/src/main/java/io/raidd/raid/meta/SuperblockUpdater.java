package io.raidd.raid.meta;

import static io.raidd.raid.md.SuperblockDescriptor.RESYNC_DONE;

import io.raidd.raid.md.AssembledArray;
import io.raidd.raid.md.NamedDevice;
import io.raidd.raid.md.Superblock;
import io.raidd.raid.md.SuperblockCodec;
import io.raidd.raid.md.SuperblockDescriptor;
import io.raidd.raid.member.ArrayMetadata;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.util.List;
import java.util.Optional;
import java.util.function.UnaryOperator;

/**
 * Keeps the superblocks of an array's members current: clean/dirty transitions and failed members,
 * each bumping the events counter on every member still in the array, as md does. A member whose
 * superblock cannot be written is left out (the RAID layer fails it on its own I/O); if no member
 * can be written the change is not durable and the caller gets the error.
 */
public final class SuperblockUpdater implements ArrayMetadata {
    private static final System.Logger LOG = System.getLogger("io.raidd.raid");

    private final String arrayName;
    private final NamedDevice[] devices;
    private final Superblock[] current;
    private final boolean[] inArray;
    private long events;

    public SuperblockUpdater(AssembledArray array) {
        this.arrayName = array.name();
        int n = array.slots().size();
        this.devices = new NamedDevice[n];
        this.current = new Superblock[n];
        this.inArray = new boolean[n];
        List<Optional<AssembledArray.Member>> slots = array.slots();
        for (int i = 0; i < n; i++) {
            Optional<AssembledArray.Member> m = slots.get(i);
            if (m.isPresent()) {
                devices[i] = m.get().device();
                current[i] = m.get().superblock();
                inArray[i] = true;
                events = Math.max(events, current[i].events());
            }
        }
        // A slot assembled as missing must stop being listed as active, or its member, offered again
        // later with events one behind, would pass as in sync although it missed every write since.
        // md does the same: super_1_sync fills dev_roles with faulty, then lists the devices present.
        List<Integer> absent = new java.util.ArrayList<>();
        for (int i = 0; i < n; i++) {
            if (inArray[i]) {
                int[] roles = current[i].devRoles();
                for (int dev = 0; dev < roles.length; dev++) {
                    if (roles[dev] < n && !inArray[roles[dev]] && !absent.contains(dev)) {
                        absent.add(dev);
                    }
                }
            }
        }
        this.absentDevices = absent;
    }

    private final List<Integer> absentDevices;

    /** The superblock last written (or read) for a slot, or null if the slot is not in the array. */
    public synchronized Superblock superblock(int slot) {
        return inArray[slot] ? current[slot] : null;
    }

    public synchronized long events() {
        return events;
    }

    @Override
    public synchronized void markDirty() throws IOException {
        update("dirty", sb -> sb.withResyncOffset(0));
    }

    @Override
    public synchronized void markClean() throws IOException {
        update("clean", sb -> sb.withResyncOffset(RESYNC_DONE));
    }

    @Override
    public synchronized void memberFailed(int slot, String reason) throws IOException {
        if (!inArray[slot]) {
            return;
        }
        inArray[slot] = false;
        int dev = current[slot].devNumber();
        update("member " + devices[slot].name() + " faulty", sb -> sb.withFaulty(dev));
    }

    private void update(String what, UnaryOperator<Superblock> change) throws IOException {
        long next = events + 1;
        long now = Superblock.mdTime(System.currentTimeMillis() / 1000, 0);
        int written = 0;
        IOException first = null;
        for (int i = 0; i < current.length; i++) {
            if (!inArray[i]) {
                continue;
            }
            // raidd keeps no md write-intent bitmap; an array md created with one must stop
            // claiming it, or md would trust a bitmap nobody updated (mdadm --update=no-bitmap).
            Superblock sb = change.apply(current[i])
                    .withEvents(next)
                    .withUtime(now)
                    .withoutFeature(SuperblockDescriptor.FEATURE_BITMAP_OFFSET);
            for (int dev : absentDevices) {
                if (sb.devRole(dev) < current.length) {
                    sb = sb.withRole(dev, SuperblockDescriptor.ROLE_FAULTY);
                }
            }
            try {
                SuperblockCodec.write(devices[i].device(), sb);
                current[i] = sb;
                written++;
            } catch (IOException e) {
                LOG.log(
                        Level.WARNING,
                        "array {0}: cannot write superblock ({1}) to {2}: {3}",
                        arrayName,
                        what,
                        devices[i].name(),
                        e.getMessage());
                first = first == null ? e : first;
            }
        }
        if (written == 0 && first != null) {
            throw new IOException(
                    "array " + arrayName + ": no member took the superblock update (" + what + ")", first);
        }
        events = next;
    }
}
