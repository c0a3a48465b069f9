package io.raidd.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class InjectCommandTest {
    @Test
    void rangesAreOffsetPlusOrColonLengthWithSuffixes() {
        assertArrayEquals(new long[] {1 << 20, 64 << 10}, InjectCommand.parseRange("1M+64K"));
        assertArrayEquals(new long[] {4096, 512}, InjectCommand.parseRange("4096:512"));
        assertArrayEquals(new long[] {0, 0}, InjectCommand.parseRange("whole"));
        assertEquals(
                "bad range '1M' (expected OFFSET+LENGTH or OFFSET:LENGTH, like 1M+64K)",
                assertThrows(IllegalArgumentException.class, () -> InjectCommand.parseRange("1M"))
                        .getMessage());
        assertEquals(
                "range '0+0' is empty",
                assertThrows(IllegalArgumentException.class, () -> InjectCommand.parseRange("0+0"))
                        .getMessage());
        assertThrows(IllegalArgumentException.class, () -> InjectCommand.parseRange("x+1"));
    }
}
