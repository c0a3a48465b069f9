package io.raidd.scrubber;

/**
 * One inconsistency a scrub found: where (member, its data-area offset, the volume offset it holds),
 * what (data, P, Q, or the member's tag area), why it is known to be wrong, and what was done.
 *
 * @param member the member's name (its path), as status shows it
 * @param slot the member's slot in the array
 * @param volumeOffsetBytes the volume byte the block holds; -1 for P, Q and the tag area
 * @param memberOffsetBytes offset in the member's data area (for the tag area: the first data block
 *     the damaged tag block covers)
 * @param lengthBytes bytes the finding covers (a 4 KiB block; a whole chunk for a read error)
 * @param kind what the bytes are
 * @param cause how the scrub knows they are wrong
 * @param repaired whether they were rewritten (data, P, Q: with bytes proven right; tag area: tags
 *     recomputed from data proven right)
 * @param unresolved whether tags and redundancy disagree in a way that cannot say which bytes are
 *     right: nothing is rewritten then
 * @param detail one line for people
 */
public record Finding(
        String member,
        int slot,
        long volumeOffsetBytes,
        long memberOffsetBytes,
        int lengthBytes,
        Kind kind,
        Cause cause,
        boolean repaired,
        boolean unresolved,
        String detail) {

    public Finding {
        member = member == null ? "slot " + slot : member;
        detail = detail == null ? "" : detail;
    }

    /** What the bad bytes are. */
    public enum Kind {
        DATA("data"),
        P("P"),
        Q("Q"),
        TAG_AREA("tag area");

        private final String label;

        Kind(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }

        public static Kind ofLabel(String label) {
            for (Kind k : values()) {
                if (k.label.equals(label)) {
                    return k;
                }
            }
            throw new IllegalArgumentException("no finding kind '" + label + "'");
        }
    }

    /** How the scrub knows. */
    public enum Cause {
        /** The block does not match its integrity tag (or, tag area: the tag does not match good data). */
        TAG_MISMATCH("tag mismatch"),
        /** P/Q (or the copies) disagree with the data; the bad block was located without a tag. */
        PARITY_MISMATCH("parity mismatch"),
        /** The member failed to read the block. */
        READ_ERROR("read error"),
        /** A tag block fails its own checksum (torn or damaged): its tags were unknown. */
        TAG_CHECKSUM("tag block checksum");

        private final String label;

        Cause(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }

        public static Cause ofLabel(String label) {
            for (Cause c : values()) {
                if (c.label.equals(label)) {
                    return c;
                }
            }
            throw new IllegalArgumentException("no finding cause '" + label + "'");
        }
    }

    Finding withRepaired(boolean now) {
        return new Finding(
                member, slot, volumeOffsetBytes, memberOffsetBytes, lengthBytes, kind, cause, now, unresolved, detail);
    }

    Finding withLength(int bytes) {
        return new Finding(
                member, slot, volumeOffsetBytes, memberOffsetBytes, bytes, kind, cause, repaired, unresolved, detail);
    }

    /** One line: {@code d1.img data at member offset 1048576 (volume 3145728): tag mismatch, repaired}. */
    @Override
    public String toString() {
        return member + " " + kind.label() + " at member offset " + memberOffsetBytes
                + (volumeOffsetBytes >= 0 ? " (volume " + volumeOffsetBytes + ")" : "")
                + (lengthBytes != 4096 ? " +" + lengthBytes : "")
                + ": " + cause.label()
                + (unresolved ? ", unresolved" : repaired ? ", repaired" : "")
                + (detail.isEmpty() ? "" : " (" + detail + ")");
    }
}
