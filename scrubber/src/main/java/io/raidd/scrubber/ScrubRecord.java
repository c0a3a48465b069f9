package io.raidd.scrubber;

import static io.raidd.scrubber.ScrubRecordDescriptor.*;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.IntFunction;
import java.util.zip.CRC32C;

/**
 * What {@link ScrubRecordDescriptor} stores: the sequence, the cursor, and the scrubs (newest
 * first). Encoding and decoding only; {@link ScrubStore} does the I/O.
 */
public record ScrubRecord(long sequence, byte[] arrayUuid, long cursorStripe, List<Entry> entries) {

    public ScrubRecord {
        arrayUuid = arrayUuid.clone();
        entries = List.copyOf(entries);
    }

    /** A scrub's lifecycle as stored. */
    public enum State {
        RUNNING,
        PAUSED,
        FINISHED,
        STOPPED,
        FAILED;

        public String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /**
     * One scrub.
     *
     * @param perSlot slot to {found, repaired, unresolved}
     * @param findings those stored (at most {@link ScrubRecordDescriptor#MAX_STORED_FINDINGS})
     */
    public record Entry(
            long startMillis,
            long endMillis,
            long doneBytes,
            long totalBytes,
            long bytesPerSecond,
            long found,
            long repaired,
            long unresolved,
            State state,
            boolean repair,
            Map<Integer, long[]> perSlot,
            List<Finding> findings) {

        public Entry {
            perSlot = new TreeMap<>(perSlot);
            findings = List.copyOf(findings);
        }

        int encodedBytes() {
            return ENTRY_HEADER_BYTES
                    + perSlot.size() * MEMBER_ROW_BYTES
                    + Math.min(findings.size(), MAX_STORED_FINDINGS) * FINDING_BYTES;
        }

        public Entry withState(State s, long end) {
            return new Entry(
                    startMillis,
                    end,
                    doneBytes,
                    totalBytes,
                    bytesPerSecond,
                    found,
                    repaired,
                    unresolved,
                    s,
                    repair,
                    perSlot,
                    findings);
        }
    }

    public static ScrubRecord empty(byte[] arrayUuid) {
        return new ScrubRecord(0, arrayUuid, 0, List.of());
    }

    /** The record with {@code entry} first (replacing the first when {@code replaceFirst}), older ones trimmed. */
    public ScrubRecord with(long nextSequence, long cursor, Entry entry, boolean replaceFirst) {
        List<Entry> list = new ArrayList<>();
        list.add(entry);
        for (int i = replaceFirst ? 1 : 0; i < entries.size() && list.size() < MAX_ENTRIES; i++) {
            list.add(entries.get(i));
        }
        return new ScrubRecord(nextSequence, arrayUuid, cursor, list);
    }

    public byte[] encode() {
        List<Entry> list = new ArrayList<>(entries);
        int bytes = size(list);
        while (bytes > SLOT_BYTES && list.size() > 1) {
            list.remove(list.size() - 1);
            bytes = size(list);
        }
        if (bytes > SLOT_BYTES) {
            throw new IllegalStateException("scrub record of " + bytes + " bytes does not fit a slot");
        }
        ByteBuffer b = ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(MAGIC_OFFSET, MAGIC);
        b.putInt(VERSION_OFFSET, VERSION);
        b.putInt(RECORD_BYTES_OFFSET, bytes);
        b.putLong(SEQUENCE_OFFSET, sequence);
        b.put(ARRAY_UUID_OFFSET, arrayUuid);
        b.putLong(CURSOR_OFFSET, cursorStripe);
        b.putShort(ENTRIES_OFFSET, (short) list.size());
        int at = HEADER_BYTES;
        for (Entry e : list) {
            b.putLong(at + E_START, e.startMillis());
            b.putLong(at + E_END, e.endMillis());
            b.putLong(at + E_DONE, e.doneBytes());
            b.putLong(at + E_TOTAL, e.totalBytes());
            b.putLong(at + E_RATE, e.bytesPerSecond());
            b.putInt(at + E_FOUND, (int) Math.min(0xffffffffL, e.found()));
            b.putInt(at + E_REPAIRED, (int) Math.min(0xffffffffL, e.repaired()));
            b.putInt(at + E_UNRESOLVED, (int) Math.min(0xffffffffL, e.unresolved()));
            b.put(at + E_STATE, (byte) e.state().ordinal());
            b.put(at + E_MODE, (byte) (e.repair() ? 1 : 0));
            int stored = Math.min(e.findings().size(), MAX_STORED_FINDINGS);
            b.putShort(at + E_MEMBERS, (short) e.perSlot().size());
            b.putShort(at + E_STORED, (short) stored);
            at += ENTRY_HEADER_BYTES;
            for (Map.Entry<Integer, long[]> m : e.perSlot().entrySet()) {
                b.putShort(at, (short) (int) m.getKey());
                b.putInt(at + 4, (int) m.getValue()[0]);
                b.putInt(at + 8, (int) m.getValue()[1]);
                b.putInt(at + 12, (int) m.getValue()[2]);
                at += MEMBER_ROW_BYTES;
            }
            for (int i = 0; i < stored; i++) {
                Finding f = e.findings().get(i);
                b.putShort(at + F_SLOT, (short) f.slot());
                b.put(at + F_KIND, (byte) f.kind().ordinal());
                b.put(at + F_CAUSE, (byte) f.cause().ordinal());
                b.put(at + F_FLAGS, (byte)
                        ((f.repaired() ? FLAG_REPAIRED : 0) | (f.unresolved() ? FLAG_UNRESOLVED : 0)));
                b.putLong(at + F_VOLUME_OFFSET, f.volumeOffsetBytes());
                b.putLong(at + F_MEMBER_OFFSET, f.memberOffsetBytes());
                b.putInt(at + F_LENGTH, f.lengthBytes());
                at += FINDING_BYTES;
            }
        }
        CRC32C crc = new CRC32C();
        crc.update(b.array(), 0, bytes - CRC_BYTES);
        b.putInt(bytes - CRC_BYTES, (int) crc.getValue());
        return b.array();
    }

    private static int size(List<Entry> list) {
        int bytes = HEADER_BYTES + CRC_BYTES;
        for (Entry e : list) {
            bytes += e.encodedBytes();
        }
        return bytes;
    }

    /**
     * Decodes a slot; null when it holds no valid record (never written, torn, another array's).
     *
     * @param names the member name for a slot, for findings
     */
    public static ScrubRecord decode(byte[] slot, byte[] arrayUuid, IntFunction<String> names) {
        if (slot.length < HEADER_BYTES + CRC_BYTES) {
            return null;
        }
        ByteBuffer b = ByteBuffer.wrap(slot).order(ByteOrder.LITTLE_ENDIAN);
        if (b.getLong(MAGIC_OFFSET) != MAGIC || b.getInt(VERSION_OFFSET) != VERSION) {
            return null;
        }
        int bytes = b.getInt(RECORD_BYTES_OFFSET);
        if (bytes < HEADER_BYTES + CRC_BYTES || bytes > slot.length || bytes > SLOT_BYTES) {
            return null;
        }
        CRC32C crc = new CRC32C();
        crc.update(slot, 0, bytes - CRC_BYTES);
        if ((int) crc.getValue() != b.getInt(bytes - CRC_BYTES)) {
            return null;
        }
        byte[] uuid = new byte[16];
        b.get(ARRAY_UUID_OFFSET, uuid);
        if (arrayUuid != null && !Arrays.equals(uuid, arrayUuid)) {
            return null;
        }
        int count = Short.toUnsignedInt(b.getShort(ENTRIES_OFFSET));
        List<Entry> entries = new ArrayList<>();
        int at = HEADER_BYTES;
        for (int i = 0; i < count; i++) {
            if (at + ENTRY_HEADER_BYTES > bytes - CRC_BYTES) {
                return null;
            }
            int stateOrdinal = b.get(at + E_STATE);
            if (stateOrdinal < 0 || stateOrdinal >= State.values().length) {
                return null;
            }
            int members = Short.toUnsignedInt(b.getShort(at + E_MEMBERS));
            int stored = Short.toUnsignedInt(b.getShort(at + E_STORED));
            int end = at + ENTRY_HEADER_BYTES + members * MEMBER_ROW_BYTES + stored * FINDING_BYTES;
            if (end > bytes - CRC_BYTES) {
                return null;
            }
            Map<Integer, long[]> perSlot = new TreeMap<>();
            int row = at + ENTRY_HEADER_BYTES;
            for (int m = 0; m < members; m++, row += MEMBER_ROW_BYTES) {
                perSlot.put(Short.toUnsignedInt(b.getShort(row)), new long[] {
                    Integer.toUnsignedLong(b.getInt(row + 4)),
                    Integer.toUnsignedLong(b.getInt(row + 8)),
                    Integer.toUnsignedLong(b.getInt(row + 12))
                });
            }
            List<Finding> findings = new ArrayList<>();
            for (int f = 0; f < stored; f++, row += FINDING_BYTES) {
                int kind = b.get(row + F_KIND);
                int cause = b.get(row + F_CAUSE);
                if (kind < 0
                        || kind >= Finding.Kind.values().length
                        || cause < 0
                        || cause >= Finding.Cause.values().length) {
                    return null;
                }
                int slotNo = Short.toUnsignedInt(b.getShort(row + F_SLOT));
                int flags = b.get(row + F_FLAGS);
                findings.add(new Finding(
                        names == null ? null : names.apply(slotNo),
                        slotNo,
                        b.getLong(row + F_VOLUME_OFFSET),
                        b.getLong(row + F_MEMBER_OFFSET),
                        b.getInt(row + F_LENGTH),
                        Finding.Kind.values()[kind],
                        Finding.Cause.values()[cause],
                        (flags & FLAG_REPAIRED) != 0,
                        (flags & FLAG_UNRESOLVED) != 0,
                        ""));
            }
            entries.add(new Entry(
                    b.getLong(at + E_START),
                    b.getLong(at + E_END),
                    b.getLong(at + E_DONE),
                    b.getLong(at + E_TOTAL),
                    b.getLong(at + E_RATE),
                    Integer.toUnsignedLong(b.getInt(at + E_FOUND)),
                    Integer.toUnsignedLong(b.getInt(at + E_REPAIRED)),
                    Integer.toUnsignedLong(b.getInt(at + E_UNRESOLVED)),
                    State.values()[stateOrdinal],
                    b.get(at + E_MODE) == 1,
                    perSlot,
                    findings));
            at = end;
        }
        return new ScrubRecord(b.getLong(SEQUENCE_OFFSET), uuid, b.getLong(CURSOR_OFFSET), entries);
    }
}
