package io.raidd.raid.md;

import static io.raidd.raid.md.SuperblockDescriptor.ROLE_FAULTY;
import static io.raidd.raid.md.SuperblockDescriptor.ROLE_MAX;
import static io.raidd.raid.md.SuperblockDescriptor.ROLE_SPARE;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.UUID;

/**
 * One member's md v1.2 superblock, field for field (see {@link SuperblockDescriptor}); sizes in
 * 512-byte sectors as md stores them. Immutable: changes make a copy.
 */
public record Superblock(
        int featureMap,
        byte[] setUuid,
        String setName,
        long ctime,
        int level,
        int layout,
        long sizeSectors,
        int chunkSectors,
        int raidDisks,
        int bitmapOffset,
        int newLevel,
        long reshapePosition,
        int deltaDisks,
        int newLayout,
        int newChunk,
        int newOffset,
        long dataOffsetSectors,
        long dataSizeSectors,
        long superOffsetSectors,
        long recoveryOffsetSectors,
        int devNumber,
        int cntCorrectedRead,
        byte[] deviceUuid,
        int devflags,
        int bblogShift,
        int bblogSize,
        int bblogOffset,
        long utime,
        long events,
        long resyncOffset,
        int maxDev,
        int[] devRoles) {

    public Superblock {
        setUuid = setUuid.clone();
        deviceUuid = deviceUuid.clone();
        devRoles = devRoles.clone();
        if (setUuid.length != 16 || deviceUuid.length != 16) {
            throw new IllegalArgumentException("UUIDs are 16 bytes");
        }
        if (devRoles.length != maxDev) {
            throw new IllegalArgumentException("dev_roles has " + devRoles.length + " entries, max_dev is " + maxDev);
        }
    }

    @Override
    public byte[] setUuid() {
        return setUuid.clone();
    }

    @Override
    public byte[] deviceUuid() {
        return deviceUuid.clone();
    }

    @Override
    public int[] devRoles() {
        return devRoles.clone();
    }

    public int devRole(int devNumber) {
        return devNumber >= 0 && devNumber < maxDev ? devRoles[devNumber] : ROLE_SPARE;
    }

    /** This member's own role: its slot, or a role constant. */
    public int role() {
        return devRole(devNumber);
    }

    /** The array's UUID in mdadm's notation (four 8-digit hex groups separated by colons). */
    public String arrayUuid() {
        return mdadmUuid(setUuid);
    }

    public String deviceUuidText() {
        return mdadmUuid(deviceUuid);
    }

    /** The array UUID as a java.util.UUID (byte order as stored). */
    public UUID setUuidValue() {
        ByteBuffer b = ByteBuffer.wrap(setUuid);
        return new UUID(b.getLong(), b.getLong());
    }

    public static String mdadmUuid(byte[] uuid) {
        String hex = HexFormat.of().formatHex(uuid);
        return hex.substring(0, 8) + ":" + hex.substring(8, 16) + ":" + hex.substring(16, 24) + ":"
                + hex.substring(24, 32);
    }

    /** The part of set_name after "host:", which md uses as the array's short name. */
    public String shortName() {
        int colon = setName.indexOf(':');
        return colon < 0 ? setName : setName.substring(colon + 1);
    }

    public boolean clean() {
        return resyncOffset == SuperblockDescriptor.RESYNC_DONE;
    }

    public long dataOffsetBytes() {
        return dataOffsetSectors * 512;
    }

    public long dataSizeBytes() {
        return dataSizeSectors * 512;
    }

    public long sizeBytes() {
        return sizeSectors * 512;
    }

    public int chunkBytes() {
        return chunkSectors * 512;
    }

    /** ctime and utime keep seconds in the low 40 bits and microseconds in the high 24. */
    public static long seconds(long mdTime) {
        return mdTime & 0xff_ffff_ffffL;
    }

    public static long mdTime(long epochSeconds, long micros) {
        return (epochSeconds & 0xff_ffff_ffffL) | (micros << 40);
    }

    /** mdadm's "Array State" string: 'A' active, '.' missing or faulty, one per slot. */
    public String arrayState() {
        char[] state = new char[raidDisks];
        Arrays.fill(state, '.');
        for (int role : devRoles) {
            if (role < ROLE_MAX && role < raidDisks) {
                state[role] = 'A';
            }
        }
        return new String(state);
    }

    public Superblock withEvents(long newEvents) {
        return copy(newEvents, resyncOffset, utime, devRoles);
    }

    public Superblock withResyncOffset(long offset) {
        return copy(events, offset, utime, devRoles);
    }

    public Superblock withUtime(long mdTime) {
        return copy(events, resyncOffset, mdTime, devRoles);
    }

    /** Sets device number {@code dev}'s entry in dev_roles (a slot or a role constant). */
    public Superblock withRole(int dev, int role) {
        int[] roles = devRoles.clone();
        roles[dev] = role;
        return copy(events, resyncOffset, utime, roles);
    }

    /** Replaces dev_roles (and max_dev, which is its length). */
    public Superblock withRoles(int[] roles) {
        Builder b = toBuilder();
        b.devRoles = roles.clone();
        b.maxDev = roles.length;
        return b.build();
    }

    /** Marks device number {@code dev} faulty in dev_roles. */
    public Superblock withFaulty(int dev) {
        return withRole(dev, ROLE_FAULTY);
    }

    /** Clears feature bits (md's bitmap feature, when raidd stops maintaining the bitmap). */
    public Superblock withoutFeature(int bits) {
        if ((featureMap & bits) == 0) {
            return this;
        }
        return new Superblock(
                featureMap & ~bits,
                setUuid,
                setName,
                ctime,
                level,
                layout,
                sizeSectors,
                chunkSectors,
                raidDisks,
                bitmapOffset,
                newLevel,
                reshapePosition,
                deltaDisks,
                newLayout,
                newChunk,
                newOffset,
                dataOffsetSectors,
                dataSizeSectors,
                superOffsetSectors,
                recoveryOffsetSectors,
                devNumber,
                cntCorrectedRead,
                deviceUuid,
                devflags,
                bblogShift,
                bblogSize,
                bblogOffset,
                utime,
                events,
                resyncOffset,
                maxDev,
                devRoles);
    }

    private Superblock copy(long ev, long resync, long ut, int[] roles) {
        return new Superblock(
                featureMap,
                setUuid,
                setName,
                ctime,
                level,
                layout,
                sizeSectors,
                chunkSectors,
                raidDisks,
                bitmapOffset,
                newLevel,
                reshapePosition,
                deltaDisks,
                newLayout,
                newChunk,
                newOffset,
                dataOffsetSectors,
                dataSizeSectors,
                superOffsetSectors,
                recoveryOffsetSectors,
                devNumber,
                cntCorrectedRead,
                deviceUuid,
                devflags,
                bblogShift,
                bblogSize,
                bblogOffset,
                ut,
                ev,
                resync,
                maxDev,
                roles);
    }

    /** A mutable copy of this superblock, for changes of several fields at once. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.featureMap = featureMap;
        b.setUuid = setUuid;
        b.setName = setName;
        b.ctime = ctime;
        b.level = level;
        b.layout = layout;
        b.sizeSectors = sizeSectors;
        b.chunkSectors = chunkSectors;
        b.raidDisks = raidDisks;
        b.bitmapOffset = bitmapOffset;
        b.newLevel = newLevel;
        b.reshapePosition = reshapePosition;
        b.deltaDisks = deltaDisks;
        b.newLayout = newLayout;
        b.newChunk = newChunk;
        b.newOffset = newOffset;
        b.dataOffsetSectors = dataOffsetSectors;
        b.dataSizeSectors = dataSizeSectors;
        b.superOffsetSectors = superOffsetSectors;
        b.recoveryOffsetSectors = recoveryOffsetSectors;
        b.devNumber = devNumber;
        b.cntCorrectedRead = cntCorrectedRead;
        b.deviceUuid = deviceUuid;
        b.devflags = devflags;
        b.bblogShift = bblogShift;
        b.bblogSize = bblogSize;
        b.bblogOffset = bblogOffset;
        b.utime = utime;
        b.events = events;
        b.resyncOffset = resyncOffset;
        b.maxDev = maxDev;
        b.devRoles = devRoles;
        return b;
    }

    /** Every field of a superblock, settable; {@link #build} validates as the record does. */
    public static final class Builder {
        public int featureMap;
        public byte[] setUuid;
        public String setName;
        public long ctime;
        public int level;
        public int layout;
        public long sizeSectors;
        public int chunkSectors;
        public int raidDisks;
        public int bitmapOffset;
        public int newLevel;
        public long reshapePosition;
        public int deltaDisks;
        public int newLayout;
        public int newChunk;
        public int newOffset;
        public long dataOffsetSectors;
        public long dataSizeSectors;
        public long superOffsetSectors;
        public long recoveryOffsetSectors;
        public int devNumber;
        public int cntCorrectedRead;
        public byte[] deviceUuid;
        public int devflags;
        public int bblogShift;
        public int bblogSize;
        public int bblogOffset;
        public long utime;
        public long events;
        public long resyncOffset;
        public int maxDev;
        public int[] devRoles;

        public Superblock build() {
            return new Superblock(
                    featureMap,
                    setUuid,
                    setName,
                    ctime,
                    level,
                    layout,
                    sizeSectors,
                    chunkSectors,
                    raidDisks,
                    bitmapOffset,
                    newLevel,
                    reshapePosition,
                    deltaDisks,
                    newLayout,
                    newChunk,
                    newOffset,
                    dataOffsetSectors,
                    dataSizeSectors,
                    superOffsetSectors,
                    recoveryOffsetSectors,
                    devNumber,
                    cntCorrectedRead,
                    deviceUuid,
                    devflags,
                    bblogShift,
                    bblogSize,
                    bblogOffset,
                    utime,
                    events,
                    resyncOffset,
                    maxDev,
                    devRoles);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Superblock s && Arrays.equals(SuperblockCodec.encode(this), SuperblockCodec.encode(s));
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(SuperblockCodec.encode(this));
    }

    @Override
    public String toString() {
        return "Superblock[" + arrayUuid() + " '" + setName + "' RAID-" + level + " dev " + devNumber + " role "
                + role() + " events " + events + (clean() ? " clean" : " dirty") + "]";
    }
}
