package io.raidd.scrubber;

import io.raidd.blockdev.BlockDevice;
import io.raidd.raid.md.RaiddArea;
import io.raidd.raid.md.Superblock;
import io.raidd.raid.md.SuperblockCodec;
import io.raidd.raid.member.Member;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;
import java.util.function.Supplier;

/**
 * Reads and writes the {@link ScrubRecord} in the headroom of every member's raidd area ({@link
 * ScrubRecordDescriptor}): newest valid copy wins on open, every write goes to every live member
 * that has an area, alternating slots, and is flushed. Members formatted without a raidd area
 * (by mdadm) hold no copy; with none at all the history lives only in memory.
 */
final class ScrubStore {
    private static final System.Logger LOG = System.getLogger("io.raidd.scrubber");

    private final String arrayName;
    private final Supplier<List<Member>> members;
    private final Map<Member, Long> headroom = new IdentityHashMap<>();
    private byte[] arrayUuid;

    ScrubStore(String arrayName, Supplier<List<Member>> members) {
        this.arrayName = arrayName;
        this.members = members;
    }

    /** Where the member's headroom starts on its device, or -1 when it has none big enough. */
    private synchronized long headroomOf(Member m) {
        Long known = headroom.get(m);
        if (known != null) {
            return known;
        }
        long at = -1;
        BlockDevice d = m.device();
        if (d != null) {
            try {
                Superblock sb = SuperblockCodec.read(d);
                RaiddArea area = RaiddArea.read(d, sb);
                if (java.util.Arrays.equals(area.arrayUuid(), sb.setUuid())
                        && area.headroomBytes() >= 2L * ScrubRecordDescriptor.SLOT_BYTES) {
                    at = area.headroomOffsetBytes();
                    if (arrayUuid == null) {
                        arrayUuid = sb.setUuid();
                    }
                }
            } catch (IOException | RuntimeException e) {
                LOG.log(
                        System.Logger.Level.DEBUG,
                        "array {0}: {1}: no scrub record: {2}",
                        arrayName,
                        m.name(),
                        e.getMessage());
            }
        }
        headroom.put(m, at);
        return at;
    }

    byte[] arrayUuid() {
        for (Member m : members.get()) {
            headroomOf(m);
        }
        return arrayUuid == null ? new byte[16] : arrayUuid.clone();
    }

    /** The newest valid record on any member, or an empty one. */
    ScrubRecord load(IntFunction<String> names) {
        byte[] uuid = arrayUuid();
        ScrubRecord best = null;
        for (Member m : members.get()) {
            long at = headroomOf(m);
            if (at < 0) {
                continue;
            }
            for (int slot = 0; slot < 2; slot++) {
                try {
                    ByteBuffer buf = ByteBuffer.allocate(ScrubRecordDescriptor.SLOT_BYTES);
                    m.device().read(at + (long) slot * ScrubRecordDescriptor.SLOT_BYTES, buf);
                    ScrubRecord r = ScrubRecord.decode(buf.array(), uuid, names);
                    if (r != null && (best == null || r.sequence() > best.sequence())) {
                        best = r;
                    }
                } catch (IOException e) {
                    LOG.log(
                            System.Logger.Level.WARNING,
                            "array {0}: {1}: cannot read scrub record: {2}",
                            arrayName,
                            m.name(),
                            e.getMessage());
                }
            }
        }
        return best != null ? best : ScrubRecord.empty(uuid);
    }

    /** Writes {@code record} to its slot on every live member; returns how many took it. */
    int write(ScrubRecord record) {
        byte[] bytes = record.encode();
        int padded = (bytes.length + 4095) / 4096 * 4096;
        byte[] block = java.util.Arrays.copyOf(bytes, padded);
        int slot = (int) (record.sequence() & 1);
        int written = 0;
        List<Member> live = new ArrayList<>();
        for (Member m : members.get()) {
            if (m.live() && headroomOf(m) >= 0) {
                live.add(m);
            }
        }
        for (Member m : live) {
            try {
                m.device()
                        .write(headroomOf(m) + (long) slot * ScrubRecordDescriptor.SLOT_BYTES, ByteBuffer.wrap(block));
                m.device().flush();
                written++;
            } catch (IOException e) {
                LOG.log(
                        System.Logger.Level.WARNING,
                        "array {0}: {1}: cannot write scrub record: {2}",
                        arrayName,
                        m.name(),
                        e.getMessage());
            }
        }
        return written;
    }
}
