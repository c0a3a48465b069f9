package io.raidd.nbd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import org.junit.jupiter.api.Test;

/** BufferBudget and ConnectionBudget, with a hand-driven executor standing in for the event loop. */
class BudgetTest {
    private static final long MIB = 1 << 20;

    private final Queue<Runnable> loop = new ArrayDeque<>();

    private void runLoop() {
        Runnable r;
        while ((r = loop.poll()) != null) {
            r.run();
        }
    }

    private ConnectionBudget connection(BufferBudget server, long maxReply, long maxPayload) {
        return new ConnectionBudget("test", 8, maxReply, maxPayload, MIB, server, loop::add);
    }

    @Test
    void serverBudgetGrantsWaitersFirstComeFirstServed() {
        BufferBudget budget = new BufferBudget(100);
        List<String> granted = new ArrayList<>();
        assertNull(budget.acquireOrWait(80, () -> granted.add("x")));
        assertNotNull(budget.acquireOrWait(50, () -> granted.add("a")));
        // Fits right now, but must not overtake the waiter ahead of it.
        assertNotNull(budget.acquireOrWait(10, () -> granted.add("b")));
        assertFalse(budget.hasRoom(), "payload without a reservation waits behind them too");
        budget.release(80);
        assertEquals(List.of("a", "b"), granted);
        assertEquals(60, budget.usedBytes());
        assertThrows(IllegalArgumentException.class, () -> budget.acquireOrWait(101, () -> {}));
        assertThrows(IllegalStateException.class, () -> budget.release(1000));
    }

    @Test
    void cancelledWaiterIsSkipped() {
        BufferBudget budget = new BufferBudget(100);
        budget.acquireOrWait(100, () -> {});
        BufferBudget.Waiter w = budget.acquireOrWait(10, () -> {
            throw new AssertionError("cancelled waiter granted");
        });
        assertTrue(budget.cancel(w));
        budget.release(100);
        assertEquals(0, budget.usedBytes());
    }

    @Test
    void theReserveServesOnlyConnectionsHoldingNothingAndPastTheQueue() {
        BufferBudget server = new BufferBudget(64 * MIB, 16 * MIB);
        ConnectionBudget hog = connection(server, 64 * MIB, 64 * MIB);
        ConnectionBudget quiet = connection(server, 64 * MIB, 64 * MIB);
        // The shared part (48 MiB) is full and more: payload is counted after the fact.
        server.charge(50 * MIB);
        assertNotNull(server.acquireOrWait(MIB, () -> {}), "a waiter queues for the shared part");
        int[] resumed = {0};
        assertTrue(quiet.tryReserveReply(MIB, () -> resumed[0]++), "holds nothing: from the reserve, past the queue");
        assertFalse(quiet.tryReserveReply(MIB, () -> resumed[0]++), "holds a reply now: queues like everyone");
        assertTrue(hog.tryReserveReply(15 * MIB, () -> {}), "the rest of the reserve");
        assertFalse(server.tryAcquireReserve(1), "the reserve is used up");
        assertEquals(66 * MIB, server.usedBytes());
        quiet.releaseReply(MIB);
        hog.releaseReply(15 * MIB);
        assertTrue(server.tryAcquireReserve(16 * MIB), "returned whole");
        server.releaseReserve(16 * MIB);
        quiet.close();
        hog.close();
    }

    @Test
    void eachBusyConnectionIsLimitedToItsShareOfTheCeiling() {
        BufferBudget server = new BufferBudget(64 * MIB);
        List<ConnectionBudget> connections = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            ConnectionBudget c = connection(server, 32 * MIB, 64 * MIB);
            assertTrue(c.tryAcquireRequest(() -> {}));
            connections.add(c);
        }
        assertEquals(4, server.activeConnections());
        ConnectionBudget c = connections.get(0);
        assertEquals(16 * MIB, c.replyLimitBytes(), "64 MiB over four busy connections");
        assertEquals(16 * MIB, c.payloadLimitBytes());
        for (int i = 0; i < 16; i++) {
            assertTrue(c.tryReserveReply(MIB, () -> {}));
        }
        assertFalse(c.tryReserveReply(MIB, () -> {}), "its share is used up");
        assertEquals(16 * MIB, server.usedBytes(), "the others' shares stay free");
        for (ConnectionBudget other : connections.subList(1, 4)) {
            other.releaseRequest();
        }
        assertEquals(1, server.activeConnections());
        assertEquals(32 * MIB, c.replyLimitBytes(), "alone, the configured maximum applies");
        assertTrue(c.tryReserveReply(MIB, () -> {}));
        c.releaseReply(17 * MIB);
        c.releaseRequest();
        assertEquals(0, server.activeConnections());
        assertEquals(0, server.usedBytes());
    }

    @Test
    void oneReplyReservationAlwaysPassesTheConnectionsOwnLimitAndTheNextWaits() {
        BufferBudget server = new BufferBudget(64 * MIB);
        ConnectionBudget c = connection(server, 2 * MIB, 64 * MIB);
        int[] resumed = {0};
        assertTrue(c.tryReserveReply(3 * MIB, () -> resumed[0]++), "above the limit, but nothing held");
        assertFalse(c.tryReserveReply(1, () -> resumed[0]++));
        c.releaseReply(3 * MIB);
        runLoop();
        assertEquals(1, resumed[0], "resumed by its own release");
        assertTrue(c.tryReserveReply(MIB, () -> {}));
        assertTrue(c.tryReserveReply(MIB, () -> {}));
        assertFalse(c.tryReserveReply(1, () -> resumed[0]++));
        c.releaseReply(2 * MIB);
        runLoop();
        assertEquals(2, resumed[0]);
        assertEquals(0, server.usedBytes());
    }

    @Test
    void serverGrantIsHandedToTheLoopAndReleasedIfTheConnectionClosed() {
        BufferBudget server = new BufferBudget(32 * MIB);
        assertNull(server.acquireOrWait(32 * MIB, () -> {}));
        ConnectionBudget c = connection(server, 16 * MIB, 16 * MIB);
        int[] resumed = {0};
        assertFalse(c.tryReserveReply(MIB, () -> resumed[0]++));
        server.release(32 * MIB);
        assertEquals(MIB, server.usedBytes(), "granted to the waiter");
        runLoop();
        assertEquals(1, resumed[0]);
        assertTrue(c.tryReserveReply(MIB, () -> {}), "the retry consumes the grant");
        assertEquals(MIB, server.usedBytes());
        c.releaseReply(MIB);
        assertEquals(0, server.usedBytes());

        assertNull(server.acquireOrWait(32 * MIB, () -> {}));
        assertFalse(c.tryReserveReply(MIB, () -> resumed[0]++));
        server.release(32 * MIB);
        c.close();
        runLoop();
        assertEquals(0, server.usedBytes(), "a grant arriving after close is returned");
        assertEquals(1, resumed[0]);
    }

    @Test
    void payloadIsCountedAsItArrivesAndReadingWaitsForRoom() {
        BufferBudget server = new BufferBudget(32 * MIB);
        ConnectionBudget c = connection(server, 16 * MIB, 2 * MIB);
        c.chargePayload(100);
        assertEquals(100, server.usedBytes(), "only what arrived");
        assertEquals(ConnectionBudget.Room.YES, c.payloadRoom());
        c.chargePayload(2 * MIB);
        assertEquals(ConnectionBudget.Room.CONNECTION_FULL, c.payloadRoom());
        int[] resumed = {0};
        c.awaitPayloadRoom(ConnectionBudget.Room.CONNECTION_FULL, () -> resumed[0]++);
        c.releasePayload(MIB);
        runLoop();
        assertEquals(1, resumed[0]);
        assertEquals(ConnectionBudget.Room.YES, c.payloadRoom());
        c.releasePayload(MIB + 100);
        assertEquals(0, server.usedBytes());
    }

    @Test
    void aConnectionPausedByAFullServerResumesWithACreditInTurn() {
        BufferBudget server = new BufferBudget(32 * MIB);
        ConnectionBudget c = connection(server, 16 * MIB, 16 * MIB);
        c.chargePayload(MIB);
        assertNull(server.acquireOrWait(31 * MIB, () -> {}));
        assertEquals(ConnectionBudget.Room.SERVER_FULL, c.payloadRoom());
        int[] resumed = {0};
        c.awaitPayloadRoom(ConnectionBudget.Room.SERVER_FULL, () -> resumed[0]++);
        runLoop();
        assertEquals(0, resumed[0]);
        server.release(MIB);
        runLoop();
        assertEquals(1, resumed[0]);
        assertEquals(31 * MIB + ConnectionBudget.RESUME_CREDIT_BYTES, server.usedBytes(), "the credit is reserved");
        c.chargePayload(1000);
        assertEquals(31 * MIB + ConnectionBudget.RESUME_CREDIT_BYTES, server.usedBytes(), "and used first");
        c.returnPayloadCredit();
        assertEquals(31 * MIB + 1000, server.usedBytes());
        server.release(30 * MIB);
        c.releasePayload(MIB + 1000);
        assertEquals(0, server.usedBytes());
    }

    @Test
    void requestSlotsCapTheConnectionAndMarkItBusy() {
        BufferBudget server = new BufferBudget(32 * MIB);
        ConnectionBudget c = new ConnectionBudget("test", 2, MIB, MIB, MIB, server, loop::add);
        int[] resumed = {0};
        assertTrue(c.tryAcquireRequest(() -> resumed[0]++));
        assertEquals(1, server.activeConnections());
        assertTrue(c.tryAcquireRequest(() -> resumed[0]++));
        assertFalse(c.tryAcquireRequest(() -> resumed[0]++));
        c.releaseRequest();
        runLoop();
        assertEquals(1, resumed[0]);
        c.releaseRequest();
        assertEquals(0, server.activeConnections());
    }
}
