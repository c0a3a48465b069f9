package io.raidd.raid.md;

import static io.raidd.raid.md.RaiddAreaDescriptor.*;

import io.raidd.blockdev.BlockDevice;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;

/** The header of raidd's area on one member (see {@link RaiddAreaDescriptor}). */
public record RaiddArea(
        byte[] arrayUuid,
        byte[] deviceUuid,
        long areaOffsetBytes,
        long areaBytes,
        long tagsOffsetBytes,
        long tagsBytes,
        long headroomOffsetBytes,
        long headroomBytes,
        boolean upgradedFromV1) {

    /** The area a {@link MemberFormat} plans, for one member. */
    public static RaiddArea of(MemberFormat f, byte[] arrayUuid, byte[] deviceUuid) {
        return layout(arrayUuid, deviceUuid, f.raiddAreaOffsetBytes(), f.raiddAreaBytes(), f.dataSizeBytes(), false);
    }

    /** The version-2 layout of an area for {@code dataBytes} of data area. */
    private static RaiddArea layout(
            byte[] arrayUuid, byte[] deviceUuid, long areaOffset, long areaBytes, long dataBytes, boolean upgraded) {
        long tagsOffset = areaOffset + HEADER_BYTES;
        long tagsBytes = TagBlockDescriptor.tagBlocks(dataBytes) * TagBlockDescriptor.BLOCK_BYTES;
        long headroomOffset = tagsOffset + tagsBytes;
        long end = areaOffset + areaBytes;
        return new RaiddArea(
                arrayUuid.clone(),
                deviceUuid.clone(),
                areaOffset,
                areaBytes,
                tagsOffset,
                tagsBytes,
                headroomOffset,
                end - headroomOffset,
                upgraded);
    }

    public byte[] encode() {
        ByteBuffer b = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(MAGIC_OFFSET, MAGIC);
        b.putInt(VERSION_OFFSET, VERSION);
        b.putInt(HEADER_BYTES_OFFSET, HEADER_BYTES);
        b.put(ARRAY_UUID_OFFSET, arrayUuid);
        b.put(DEVICE_UUID_OFFSET, deviceUuid);
        b.putLong(AREA_OFFSET_OFFSET, areaOffsetBytes);
        b.putLong(AREA_BYTES_OFFSET, areaBytes);
        b.putLong(TAGS_OFFSET_OFFSET, tagsOffsetBytes);
        b.putLong(TAGS_BYTES_OFFSET, tagsBytes);
        b.putInt(TAG_BLOCK_BYTES_OFFSET, TagBlockDescriptor.TAGGED_BYTES);
        b.putInt(TAG_BYTES_OFFSET, TagBlockDescriptor.TAG_BYTES);
        b.putLong(HEADROOM_OFFSET_OFFSET, headroomOffsetBytes);
        b.putLong(HEADROOM_BYTES_OFFSET, headroomBytes);
        b.putInt(TAGS_PER_BLOCK_OFFSET, TagBlockDescriptor.TAGS_PER_BLOCK);
        CRC32C crc = new CRC32C();
        crc.update(b.array(), 0, CRC_OFFSET);
        b.putInt(CRC_OFFSET, (int) crc.getValue());
        return b.array();
    }

    /**
     * Decodes a header. A version-1 header comes back in the version-2 layout with {@link
     * #upgradedFromV1} set (the caller writes it back and zeroes the tags) when its area can hold
     * the version-2 tags for {@code dataBytes} of data; otherwise it is refused.
     */
    public static RaiddArea decode(byte[] block, long dataBytes) throws InvalidSuperblockException {
        ByteBuffer b = ByteBuffer.wrap(block).order(ByteOrder.LITTLE_ENDIAN);
        if (b.getLong(MAGIC_OFFSET) != MAGIC) {
            throw new InvalidSuperblockException("no raidd area header");
        }
        CRC32C crc = new CRC32C();
        crc.update(block, 0, CRC_OFFSET);
        if ((int) crc.getValue() != b.getInt(CRC_OFFSET)) {
            throw new InvalidSuperblockException("raidd area header checksum mismatch");
        }
        int version = b.getInt(VERSION_OFFSET);
        byte[] array = new byte[16];
        byte[] device = new byte[16];
        b.get(ARRAY_UUID_OFFSET, array);
        b.get(DEVICE_UUID_OFFSET, device);
        if (version == 1) {
            RaiddArea v2 =
                    layout(array, device, b.getLong(AREA_OFFSET_OFFSET), b.getLong(AREA_BYTES_OFFSET), dataBytes, true);
            if (v2.headroomBytes() < 0) {
                throw new InvalidSuperblockException("raidd area version 1 too small for version-2 tags");
            }
            return v2;
        }
        if (version != VERSION) {
            throw new InvalidSuperblockException("unsupported raidd area version " + version);
        }
        if (b.getInt(TAGS_PER_BLOCK_OFFSET) != TagBlockDescriptor.TAGS_PER_BLOCK
                || b.getInt(TAG_BLOCK_BYTES_OFFSET) != TagBlockDescriptor.TAGGED_BYTES
                || b.getInt(TAG_BYTES_OFFSET) != TagBlockDescriptor.TAG_BYTES) {
            throw new InvalidSuperblockException("raidd area tag geometry not supported");
        }
        return new RaiddArea(
                array,
                device,
                b.getLong(AREA_OFFSET_OFFSET),
                b.getLong(AREA_BYTES_OFFSET),
                b.getLong(TAGS_OFFSET_OFFSET),
                b.getLong(TAGS_BYTES_OFFSET),
                b.getLong(HEADROOM_OFFSET_OFFSET),
                b.getLong(HEADROOM_BYTES_OFFSET),
                false);
    }

    /** Writes the header and zeroes the tag region (punched where the device supports it). */
    public void write(BlockDevice device) throws IOException {
        device.write(areaOffsetBytes, ByteBuffer.wrap(encode()));
        device.writeZeroes(tagsOffsetBytes, areaOffsetBytes + areaBytes - tagsOffsetBytes);
    }

    /** Reads the header at the offset a superblock implies (right after data_size), if any. */
    public static RaiddArea read(BlockDevice device, Superblock sb) throws IOException {
        long offset = sb.dataOffsetBytes() + sb.dataSizeBytes();
        offset = (offset + (1 << 20) - 1) / (1 << 20) * (1 << 20);
        if (offset + HEADER_BYTES > device.sizeBytes()) {
            throw new InvalidSuperblockException("no raidd area (member formatted by mdadm?)");
        }
        ByteBuffer buf = ByteBuffer.allocate(HEADER_BYTES);
        device.read(offset, buf);
        return decode(buf.array(), sb.dataSizeBytes());
    }
}
