package io.raidd.blockdev;

/** With no fault armed the wrapper must be indistinguishable from what it wraps. */
class FaultInjectingBlockDeviceContractTest extends BlockDeviceContractTest {
    @Override
    BlockDevice newDevice(long sizeBytes) {
        return new FaultInjectingBlockDevice(new MemoryBlockDevice(sizeBytes));
    }
}
