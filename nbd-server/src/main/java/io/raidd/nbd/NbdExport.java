package io.raidd.nbd;

import io.raidd.blockdev.BlockDevice;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * What a client can attach to: a name, an optional description, a device and how it may be used.
 * Immutable; the device itself is owned by the caller, who closes it after removing the export.
 */
public final class NbdExport {
    /** The protocol's limit for every string, export names included. */
    public static final int MAX_NAME_BYTES = OptionDescriptor.MAX_STRING_LENGTH;

    private static final int MIN_BLOCK_FLOOR_BYTES = 512;
    private static final int MIN_BLOCK_CEILING_BYTES = 64 * 1024;
    private static final int DEFAULT_PREFERRED_BLOCK_BYTES = 4096;
    private static final int MAX_PREFERRED_BLOCK_BYTES = 1 << 30;

    private final String name;
    private final String description;
    private final BlockDevice device;
    private final boolean readOnly;
    private final boolean fastZero;
    private final boolean sparseReads;
    private final int minimumBlockSizeBytes;
    private final int preferredBlockSizeBytes;

    private NbdExport(Builder b) {
        this.name = b.name;
        this.description = b.description;
        this.device = b.device;
        this.readOnly = b.readOnly || b.device.isReadOnly();
        this.fastZero = b.fastZero;
        this.sparseReads = b.sparseReads;
        this.minimumBlockSizeBytes = minimumBlockSize(b.device);
        int preferred = Math.max(DEFAULT_PREFERRED_BLOCK_BYTES, minimumBlockSizeBytes);
        if (b.preferredBlockSizeBytes != 0) {
            preferred = Math.max(preferred, b.preferredBlockSizeBytes);
        }
        this.preferredBlockSizeBytes = preferred;
    }

    public static Builder builder(String name, BlockDevice device) {
        return new Builder(name, device);
    }

    public String name() {
        return name;
    }

    /** Text for humans (NBD_INFO_DESCRIPTION, LIST); empty when none was given. */
    public String description() {
        return description;
    }

    public BlockDevice device() {
        return device;
    }

    /** Effective read-only state: asked for, or forced by a read-only device. */
    public boolean readOnly() {
        return readOnly;
    }

    /** True when the device zeroes a range much faster than it writes it (hole punching, TRIM). */
    public boolean fastZero() {
        return fastZero;
    }

    /** Whether large structured READs look up the allocation to send zero runs as holes. */
    public boolean sparseReads() {
        return sparseReads;
    }

    public long sizeBytes() {
        return device.sizeBytes();
    }

    /**
     * The minimum block size advertised in NBD_INFO_BLOCK_SIZE: the device's logical block size,
     * at least 512 so clients that ask do sector-aligned I/O, at most 64 KiB as the protocol
     * demands, and halved until it divides the export size so the tail stays addressable. Clients
     * that did not ask are still served at byte granularity, as the BlockDevice contract allows.
     */
    public int minimumBlockSizeBytes() {
        return minimumBlockSizeBytes;
    }

    /** The preferred block size: a power of two at least 4096 and at least the minimum. */
    public int preferredBlockSizeBytes() {
        return preferredBlockSizeBytes;
    }

    private static int minimumBlockSize(BlockDevice device) {
        int logical = device.logicalBlockSizeBytes();
        int min = MIN_BLOCK_FLOOR_BYTES;
        if (logical > 0 && Integer.bitCount(logical) == 1) {
            min = Math.max(min, Math.min(logical, MIN_BLOCK_CEILING_BYTES));
        }
        long size = device.sizeBytes();
        while (min > 1 && size % min != 0) {
            min >>>= 1;
        }
        return min;
    }

    @Override
    public String toString() {
        return "NbdExport[" + name + ", " + sizeBytes() + " bytes" + (readOnly ? ", read-only" : "") + "]";
    }

    public static final class Builder {
        private final String name;
        private final BlockDevice device;
        private String description = "";
        private boolean readOnly;
        private boolean fastZero;
        private boolean sparseReads = true;
        private int preferredBlockSizeBytes;

        private Builder(String name, BlockDevice device) {
            this.name = Objects.requireNonNull(name, "name");
            this.device = Objects.requireNonNull(device, "device");
        }

        public Builder description(String description) {
            this.description = Objects.requireNonNull(description, "description");
            return this;
        }

        public Builder readOnly(boolean readOnly) {
            this.readOnly = readOnly;
            return this;
        }

        /** Declare that WRITE_ZEROES is fast on this device, so FAST_ZERO requests succeed. */
        public Builder fastZero(boolean fastZero) {
            this.fastZero = fastZero;
            return this;
        }

        /**
         * Whether a structured READ of 64 KiB or more first asks the device's allocation and sends
         * zero runs as OFFSET_HOLE chunks (default true). Turn it off where the lookup costs more
         * than the bytes it saves: for a RAID volume of image files it is one SEEK_DATA/SEEK_HOLE
         * pair per chunk per read, and on tmpfs SEEK_HOLE walks the page cache to the next hole.
         * BLOCK_STATUS, which nbdcopy and qemu-img use to skip holes, is not affected.
         */
        public Builder sparseReads(boolean sparseReads) {
            this.sparseReads = sparseReads;
            return this;
        }

        /**
         * A power of two at which I/O avoids read-modify-write (for a RAID volume: the full stripe
         * width when that is a power of two). 0 means the default, 4096.
         */
        public Builder preferredBlockSizeBytes(int preferredBlockSizeBytes) {
            this.preferredBlockSizeBytes = preferredBlockSizeBytes;
            return this;
        }

        public NbdExport build() {
            checkString("export name", name);
            checkString("description", description);
            if (preferredBlockSizeBytes != 0
                    && (Integer.bitCount(preferredBlockSizeBytes) != 1
                            || preferredBlockSizeBytes < MIN_BLOCK_FLOOR_BYTES
                            || preferredBlockSizeBytes > MAX_PREFERRED_BLOCK_BYTES)) {
                throw new IllegalArgumentException(
                        "preferred block size must be a power of two in [512, 1 GiB], was " + preferredBlockSizeBytes);
            }
            if (device.sizeBytes() < 0) {
                throw new IllegalArgumentException("device reports a negative size");
            }
            return new NbdExport(this);
        }

        private static void checkString(String what, String value) {
            if (value.getBytes(StandardCharsets.UTF_8).length > MAX_NAME_BYTES) {
                throw new IllegalArgumentException(what + " longer than " + MAX_NAME_BYTES + " bytes");
            }
            if (value.indexOf('\0') >= 0) {
                throw new IllegalArgumentException(what + " contains NUL");
            }
        }
    }
}
