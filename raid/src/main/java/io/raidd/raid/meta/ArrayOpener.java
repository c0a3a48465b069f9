package io.raidd.raid.meta;

import io.raidd.raid.event.EventSink;
import io.raidd.raid.md.AssembledArray;
import io.raidd.raid.volume.RaidVolume;
import io.raidd.raid.volume.RaidVolumeConfig;
import java.io.IOException;
import java.util.Optional;

/**
 * Opens an assembled array as a {@link RaidVolume} whose superblocks a {@link SuperblockUpdater}
 * keeps current: members in their slots (in sync, or rebuilding from their recovery offset),
 * hot-replace targets and spares, as the superblocks describe them. The volume owns the devices
 * from then on.
 */
public final class ArrayOpener {
    private ArrayOpener() {}

    public static RaidVolume open(AssembledArray array, RaidVolumeConfig config, EventSink events) throws IOException {
        SuperblockUpdater metadata = new SuperblockUpdater(array, config.memberTimeoutNs());
        RaidVolume.Builder b = RaidVolume.builder(array.name(), array.geometry())
                .config(config)
                .metadata(metadata)
                .events(events)
                .clean(array.clean());
        for (int slot = 0; slot < array.slots().size(); slot++) {
            Optional<AssembledArray.Member> m = array.slots().get(slot);
            if (m.isPresent()) {
                AssembledArray.Member member = m.get();
                b.member(
                        slot,
                        member.device().name(),
                        member.device().device(),
                        member.dataOffsetBytes(),
                        member.rebuilding() ? member.recoveredBytes() : -1);
            }
        }
        for (AssembledArray.Member r : array.replacements()) {
            b.replacement(r.role(), r.device().name(), r.device().device(), r.dataOffsetBytes(), r.recoveredBytes());
        }
        for (AssembledArray.Member s : array.spares()) {
            b.spare(s.device().name(), s.device().device(), s.dataOffsetBytes());
        }
        RaidVolume volume = b.build();
        if (!array.forced().isEmpty()) {
            // What --force took back is written down at once (roles, events, "dirty"), so the next
            // start does not need --force again; the resync that follows reconciles redundancy.
            metadata.markDirty();
        }
        return volume;
    }
}
