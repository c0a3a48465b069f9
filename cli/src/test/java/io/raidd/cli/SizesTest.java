package io.raidd.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class SizesTest {
    @Test
    void parsesOperatorSizes() {
        assertEquals(4096, Sizes.parse("4096"));
        assertEquals(512 * 1024, Sizes.parse("512K"));
        assertEquals(512 * 1024, Sizes.parse("512k"));
        assertEquals(64 * 1024, Sizes.parse("64KiB"));
        assertEquals(1L << 30, Sizes.parse("1G"));
        assertEquals(3L << 20, Sizes.parse("3MB"));
        assertEquals(1024, Sizes.parse("2s"));
    }

    @Test
    void rejectsGarbageWithTheInputInTheMessage() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Sizes.parse("12Q"));
        assertEquals("not a size: '12Q' (examples: 4096, 512K, 1G)", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Sizes.parse("99999999999T"));
    }

    @Test
    void printsBinaryUnits() {
        assertEquals("1.00 GiB", Sizes.human(1L << 30));
        assertEquals("512 B", Sizes.human(512));
    }
}
