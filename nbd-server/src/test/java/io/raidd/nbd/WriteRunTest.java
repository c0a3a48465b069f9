package io.raidd.nbd;

import static io.raidd.nbd.RequestDescriptor.CMD_READ;
import static io.raidd.nbd.RequestDescriptor.CMD_WRITE;
import static io.raidd.nbd.RequestDescriptor.FLAG_FUA;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

/** Which requests a {@link WriteRun} takes. */
class WriteRunTest {
    private static final int WINDOW = 64 * 1024;

    private static NbdRequest write(int flags, long offset, int length) {
        return new NbdRequest(
                flags,
                CMD_WRITE,
                offset,
                offset,
                length,
                Unpooled.wrappedBuffer(new byte[length]),
                false,
                length,
                true,
                false);
    }

    @Test
    void takesAdjacentPlainWritesUntilTheRunEndsOnAWindowBoundary() {
        WriteRun run = WriteRun.startingWith(write(0, 4096, 4096), WINDOW);
        assertNotNull(run);
        assertFalse(run.tryAppend(write(0, 4096, 4096)), "overlapping");
        assertFalse(run.tryAppend(write(0, 12288, 4096)), "a gap");
        assertFalse(run.tryAppend(write(FLAG_FUA, 8192, 4096)), "FUA");
        assertFalse(run.tryAppend(new NbdRequest(0, CMD_READ, 1, 8192, 4096, null, false, 0, true, false)), "a read");
        assertTrue(run.tryAppend(write(0, 8192, 4096)));
        assertTrue(run.tryAppend(write(0, 12288, WINDOW)), "across a boundary: the run does not end there");
        assertFalse(run.complete());
        assertTrue(run.tryAppend(write(0, 12288 + WINDOW, WINDOW - 12288)));
        assertTrue(run.complete(), "ends on a boundary");
        assertFalse(run.tryAppend(write(0, 2 * WINDOW, 4096)), "nothing joins a complete run");
        assertEquals(4, run.start().size());
    }

    @Test
    void runsStopGrowingAtTheLongestRun() {
        long max = (long) WriteRun.MAX_WINDOWS * WINDOW;
        WriteRun run = WriteRun.startingWith(write(0, 4096, 4096), WINDOW);
        assertFalse(run.tryAppend(write(0, 8192, (int) max - 4096 + 512)), "longer than the longest run");
        assertTrue(run.tryAppend(write(0, 8192, (int) max - 4096)));
        assertTrue(run.complete(), "as long as runs get, though not on a boundary");
        assertFalse(run.tryAppend(write(0, 4096 + max, 4096)));
    }

    @Test
    void aStartedRunTakesNothing() {
        WriteRun run = WriteRun.startingWith(write(0, 0, 4096), WINDOW);
        assertEquals(1, run.start().size());
        assertFalse(run.tryAppend(write(0, 4096, 4096)));
    }

    @Test
    void aWriteEndingOnABoundaryIsACompleteRun() {
        WriteRun run = WriteRun.startingWith(write(0, WINDOW / 2, WINDOW / 2), WINDOW);
        assertTrue(run.complete());
        assertFalse(run.tryAppend(write(0, WINDOW, 4096)));
    }

    @Test
    void noRunsWithoutAnOptimalSizeOrForWritesThatCannotJoin() {
        assertNull(WriteRun.startingWith(write(0, 0, 4096), 0));
        assertNull(WriteRun.startingWith(write(FLAG_FUA, 0, 4096), WINDOW));
        assertNull(WriteRun.startingWith(write(0, 0, 0), WINDOW));
    }
}
