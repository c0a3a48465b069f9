package io.raidd.raid.md;

import io.raidd.blockdev.BlockDevice;

/** A member device and the name operators know it by (its path). */
public record NamedDevice(String name, BlockDevice device) {}
