package io.raidd.raid.md;

import static io.raidd.raid.md.SuperblockDescriptor.*;

import io.raidd.blockdev.BlockDevice;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/** Encodes, decodes, checks and reads/writes md v1.2 superblocks. */
public final class SuperblockCodec {
    private SuperblockCodec() {}

    /** The 4096-byte block md reads at 4 KiB, checksum filled in. */
    public static byte[] encode(Superblock sb) {
        ByteBuffer b = ByteBuffer.allocate(BLOCK_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(MAGIC_OFFSET, MAGIC);
        b.putInt(MAJOR_VERSION_OFFSET, MAJOR_VERSION);
        b.putInt(FEATURE_MAP_OFFSET, sb.featureMap());
        b.put(SET_UUID_OFFSET, sb.setUuid());
        byte[] name = sb.setName().getBytes(StandardCharsets.UTF_8);
        if (name.length > SET_NAME_BYTES) {
            throw new IllegalArgumentException("set_name longer than 32 bytes: " + sb.setName());
        }
        b.put(SET_NAME_OFFSET, name);
        b.putLong(CTIME_OFFSET, sb.ctime());
        b.putInt(LEVEL_OFFSET, sb.level());
        b.putInt(LAYOUT_OFFSET, sb.layout());
        b.putLong(SIZE_OFFSET, sb.sizeSectors());
        b.putInt(CHUNKSIZE_OFFSET, sb.chunkSectors());
        b.putInt(RAID_DISKS_OFFSET, sb.raidDisks());
        b.putInt(BITMAP_OFFSET_OFFSET, sb.bitmapOffset());
        b.putInt(NEW_LEVEL_OFFSET, sb.newLevel());
        b.putLong(RESHAPE_POSITION_OFFSET, sb.reshapePosition());
        b.putInt(DELTA_DISKS_OFFSET, sb.deltaDisks());
        b.putInt(NEW_LAYOUT_OFFSET, sb.newLayout());
        b.putInt(NEW_CHUNK_OFFSET, sb.newChunk());
        b.putInt(NEW_OFFSET_OFFSET, sb.newOffset());
        b.putLong(DATA_OFFSET_OFFSET, sb.dataOffsetSectors());
        b.putLong(DATA_SIZE_OFFSET, sb.dataSizeSectors());
        b.putLong(SUPER_OFFSET_OFFSET, sb.superOffsetSectors());
        b.putLong(RECOVERY_OFFSET_OFFSET, sb.recoveryOffsetSectors());
        b.putInt(DEV_NUMBER_OFFSET, sb.devNumber());
        b.putInt(CNT_CORRECTED_READ_OFFSET, sb.cntCorrectedRead());
        b.put(DEVICE_UUID_OFFSET, sb.deviceUuid());
        b.put(DEVFLAGS_OFFSET, (byte) sb.devflags());
        b.put(BBLOG_SHIFT_OFFSET, (byte) sb.bblogShift());
        b.putShort(BBLOG_SIZE_OFFSET, (short) sb.bblogSize());
        b.putInt(BBLOG_OFFSET_OFFSET, sb.bblogOffset());
        b.putLong(UTIME_OFFSET, sb.utime());
        b.putLong(EVENTS_OFFSET, sb.events());
        b.putLong(RESYNC_OFFSET_OFFSET, sb.resyncOffset());
        b.putInt(MAX_DEV_OFFSET, sb.maxDev());
        int[] roles = sb.devRoles();
        for (int i = 0; i < roles.length; i++) {
            b.putShort(DEV_ROLES_OFFSET + 2 * i, (short) roles[i]);
        }
        byte[] block = b.array();
        b.putInt(SB_CSUM_OFFSET, checksum(block, sb.maxDev()));
        return block;
    }

    /**
     * md's calc_sb_1_csum: the little-endian 32-bit words of the first {@code 256 + 2 * max_dev}
     * bytes (sb_csum counted as 0, a trailing half word added as 16 bits) summed into 64 bits, then
     * the two halves folded.
     */
    public static int checksum(byte[] block, int maxDev) {
        int size = HEADER_BYTES + 2 * maxDev;
        ByteBuffer b = ByteBuffer.wrap(block).order(ByteOrder.LITTLE_ENDIAN);
        long sum = 0;
        int i = 0;
        for (; i + 4 <= size; i += 4) {
            sum += i == SB_CSUM_OFFSET ? 0 : Integer.toUnsignedLong(b.getInt(i));
        }
        if (size - i == 2) {
            sum += Short.toUnsignedLong(b.getShort(i));
        }
        return (int) ((sum & 0xffffffffL) + (sum >>> 32));
    }

    /** True when the block starts with md's magic (whatever else is wrong with it). */
    public static boolean hasMagic(byte[] block) {
        return ByteBuffer.wrap(block).order(ByteOrder.LITTLE_ENDIAN).getInt(MAGIC_OFFSET) == MAGIC;
    }

    /**
     * Decodes and validates a superblock read from a member of {@code deviceBytes} bytes.
     *
     * @throws InvalidSuperblockException naming the first problem found
     */
    public static Superblock decode(byte[] block, long deviceBytes) throws InvalidSuperblockException {
        ByteBuffer b = ByteBuffer.wrap(block).order(ByteOrder.LITTLE_ENDIAN);
        int magic = b.getInt(MAGIC_OFFSET);
        if (magic != MAGIC) {
            throw new InvalidSuperblockException(
                    String.format("no md superblock (magic 0x%08x, expected 0x%08x)", magic, MAGIC));
        }
        int major = b.getInt(MAJOR_VERSION_OFFSET);
        if (major != MAJOR_VERSION) {
            throw new InvalidSuperblockException("unsupported superblock major version " + major + " (expected 1)");
        }
        int maxDev = b.getInt(MAX_DEV_OFFSET);
        if (maxDev < 0 || maxDev > MAX_MAX_DEV) {
            throw new InvalidSuperblockException(
                    "invalid max_dev " + Integer.toUnsignedString(maxDev) + " (at most " + MAX_MAX_DEV + ")");
        }
        int stored = b.getInt(SB_CSUM_OFFSET);
        int computed = checksum(block, maxDev);
        if (stored != computed) {
            throw new InvalidSuperblockException(
                    String.format("superblock checksum mismatch: stored 0x%08x, computed 0x%08x", stored, computed));
        }
        long superOffset = b.getLong(SUPER_OFFSET_OFFSET);
        if (superOffset != SUPER_OFFSET_SECTORS) {
            throw new InvalidSuperblockException(
                    "super_offset is " + superOffset + " sectors; only v1.2 metadata (8) is supported");
        }
        int features = b.getInt(FEATURE_MAP_OFFSET);
        if ((features & ~FEATURE_ALL) != 0) {
            throw new InvalidSuperblockException(String.format("unknown feature bits 0x%x", features & ~FEATURE_ALL));
        }
        if (b.getInt(PAD0_OFFSET) != 0) {
            throw new InvalidSuperblockException("pad0 is not zero");
        }
        for (int i = 0; i < PAD3_BYTES; i++) {
            if (block[PAD3_OFFSET + i] != 0) {
                throw new InvalidSuperblockException("pad3 is not zero");
            }
        }
        long dataOffset = b.getLong(DATA_OFFSET_OFFSET);
        long dataSize = b.getLong(DATA_SIZE_OFFSET);
        long size = b.getLong(SIZE_OFFSET);
        long deviceSectors = deviceBytes / 512;
        if (dataOffset < SUPER_OFFSET_SECTORS + BLOCK_BYTES / 512 || dataOffset >= deviceSectors) {
            throw new InvalidSuperblockException("data_offset " + dataOffset
                    + " sectors is outside the usable part of a " + deviceSectors + "-sector device");
        }
        if (dataSize < 10 || dataOffset + dataSize > deviceSectors) {
            throw new InvalidSuperblockException("data_size " + dataSize + " sectors at data_offset " + dataOffset
                    + " does not fit a " + deviceSectors + "-sector device (truncated or wrong member?)");
        }
        if (size > dataSize && b.getInt(LEVEL_OFFSET) != 0) {
            throw new InvalidSuperblockException("used size " + size + " sectors exceeds data_size " + dataSize);
        }
        byte[] setUuid = new byte[16];
        b.get(SET_UUID_OFFSET, setUuid);
        byte[] deviceUuid = new byte[16];
        b.get(DEVICE_UUID_OFFSET, deviceUuid);
        int nameLength = 0;
        while (nameLength < SET_NAME_BYTES && block[SET_NAME_OFFSET + nameLength] != 0) {
            nameLength++;
        }
        String name = new String(block, SET_NAME_OFFSET, nameLength, StandardCharsets.UTF_8);
        int[] roles = new int[maxDev];
        for (int i = 0; i < maxDev; i++) {
            roles[i] = Short.toUnsignedInt(b.getShort(DEV_ROLES_OFFSET + 2 * i));
        }
        return new Superblock(
                features,
                setUuid,
                name,
                b.getLong(CTIME_OFFSET),
                b.getInt(LEVEL_OFFSET),
                b.getInt(LAYOUT_OFFSET),
                size,
                b.getInt(CHUNKSIZE_OFFSET),
                b.getInt(RAID_DISKS_OFFSET),
                b.getInt(BITMAP_OFFSET_OFFSET),
                b.getInt(NEW_LEVEL_OFFSET),
                b.getLong(RESHAPE_POSITION_OFFSET),
                b.getInt(DELTA_DISKS_OFFSET),
                b.getInt(NEW_LAYOUT_OFFSET),
                b.getInt(NEW_CHUNK_OFFSET),
                b.getInt(NEW_OFFSET_OFFSET),
                dataOffset,
                dataSize,
                superOffset,
                b.getLong(RECOVERY_OFFSET_OFFSET),
                b.getInt(DEV_NUMBER_OFFSET),
                b.getInt(CNT_CORRECTED_READ_OFFSET),
                deviceUuid,
                Byte.toUnsignedInt(b.get(DEVFLAGS_OFFSET)),
                Byte.toUnsignedInt(b.get(BBLOG_SHIFT_OFFSET)),
                Short.toUnsignedInt(b.getShort(BBLOG_SIZE_OFFSET)),
                b.getInt(BBLOG_OFFSET_OFFSET),
                b.getLong(UTIME_OFFSET),
                b.getLong(EVENTS_OFFSET),
                b.getLong(RESYNC_OFFSET_OFFSET),
                maxDev,
                roles);
    }

    /** Reads the superblock block of a member. */
    public static byte[] readBlock(BlockDevice device) throws IOException {
        if (device.sizeBytes() < SUPER_OFFSET_BYTES + BLOCK_BYTES) {
            throw new InvalidSuperblockException(
                    "device of " + device.sizeBytes() + " bytes is too small to hold an md superblock");
        }
        ByteBuffer buf = ByteBuffer.allocate(BLOCK_BYTES);
        device.read(SUPER_OFFSET_BYTES, buf);
        return buf.array();
    }

    public static Superblock read(BlockDevice device) throws IOException {
        return decode(readBlock(device), device.sizeBytes());
    }

    /** Writes the superblock and makes it durable. */
    public static void write(BlockDevice device, Superblock sb) throws IOException {
        device.write(SUPER_OFFSET_BYTES, ByteBuffer.wrap(encode(sb)));
        device.flush();
    }
}
