package io.raidd.blockdev;

class MemoryBlockDeviceContractTest extends BlockDeviceContractTest {
    @Override
    BlockDevice newDevice(long sizeBytes) {
        return new MemoryBlockDevice(sizeBytes);
    }
}
