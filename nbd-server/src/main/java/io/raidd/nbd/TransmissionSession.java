package io.raidd.nbd;

/**
 * What negotiation settled for one connection, fixed for the whole transmission phase.
 *
 * @param transmissionFlags exactly the flags sent to the client
 * @param allocationContextId id of base:allocation, or 0 when no context was selected
 * @param blockSizeNegotiated the client asked for NBD_INFO_BLOCK_SIZE in GO and so promised to
 *     honour the advertised minimum block size; unaligned requests are then refused
 * @param encrypted the connection runs over TLS, so every reply byte is copied once more anyway
 */
record TransmissionSession(
        ExportEntry entry,
        int transmissionFlags,
        boolean structuredReplies,
        int allocationContextId,
        boolean blockSizeNegotiated,
        int maxPayloadBytes,
        boolean encrypted) {

    NbdExport export() {
        return entry.export;
    }

    boolean readOnly() {
        return (transmissionFlags & TransmissionFlags.READ_ONLY) != 0;
    }

    /** Alignment enforced on offsets and lengths: 1 unless the client agreed to the minimum. */
    int enforcedAlignmentBytes() {
        return blockSizeNegotiated ? entry.export.minimumBlockSizeBytes() : 1;
    }

    /** Alignment used for BLOCK_STATUS descriptor boundaries (MUST for the advertised minimum). */
    int extentAlignmentBytes() {
        return blockSizeNegotiated ? entry.export.minimumBlockSizeBytes() : 512;
    }
}
