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

/** SharedByteBudget and ConnectionBudget, with a hand-driven executor standing in for the event loop. */
class BudgetTest {
    private final Queue<Runnable> loop = new ArrayDeque<>();

    private void runLoop() {
        Runnable r;
        while ((r = loop.poll()) != null) {
            r.run();
        }
    }

    @Test
    void sharedBudgetGrantsWaitersFirstComeFirstServed() {
        SharedByteBudget budget = new SharedByteBudget(100);
        List<String> granted = new ArrayList<>();
        assertNull(budget.acquireOrWait(80, () -> granted.add("x")));
        assertNotNull(budget.acquireOrWait(50, () -> granted.add("a")));
        // Fits right now, but must not overtake the waiter ahead of it.
        assertNotNull(budget.acquireOrWait(10, () -> granted.add("b")));
        budget.release(80);
        assertEquals(List.of("a", "b"), granted);
        assertEquals(60, budget.usedBytes());
        assertThrows(IllegalArgumentException.class, () -> budget.acquireOrWait(101, () -> {}));
        assertThrows(IllegalStateException.class, () -> budget.release(1000));
    }

    @Test
    void cancelledWaiterIsSkipped() {
        SharedByteBudget budget = new SharedByteBudget(100);
        budget.acquireOrWait(100, () -> {});
        SharedByteBudget.Waiter w = budget.acquireOrWait(10, () -> {
            throw new AssertionError("cancelled waiter granted");
        });
        assertTrue(budget.cancel(w));
        budget.release(100);
        assertEquals(0, budget.usedBytes());
    }

    @Test
    void connectionAlwaysAdmitsOneRequestWhenIdleButCapsTheRest() {
        SharedByteBudget shared = new SharedByteBudget(1000);
        ConnectionBudget c = new ConnectionBudget(2, 100, shared, loop::add);
        int[] resumed = {0};
        assertTrue(c.tryAcquire(500, () -> resumed[0]++), "one request above the per-connection bytes passes");
        assertFalse(c.tryAcquire(1, () -> resumed[0]++));
        c.release(500);
        runLoop();
        assertEquals(1, resumed[0]);
        assertTrue(c.tryAcquire(10, () -> {}));
        assertTrue(c.tryAcquire(10, () -> {}));
        assertFalse(c.tryAcquire(0, () -> resumed[0]++), "request count cap");
        c.release(10);
        runLoop();
        assertEquals(2, resumed[0]);
        assertEquals(10, shared.usedBytes());
    }

    @Test
    void sharedGrantIsHandedToTheLoopAndReleasedIfTheConnectionClosed() {
        SharedByteBudget shared = new SharedByteBudget(100);
        assertNull(shared.acquireOrWait(100, () -> {}));
        ConnectionBudget c = new ConnectionBudget(10, 100, shared, loop::add);
        int[] resumed = {0};
        assertFalse(c.tryAcquire(60, () -> resumed[0]++));
        shared.release(100);
        assertEquals(60, shared.usedBytes(), "granted to the waiter");
        runLoop();
        assertEquals(1, resumed[0]);
        assertTrue(c.tryAcquire(60, () -> {}), "the retry consumes the grant");
        assertEquals(60, shared.usedBytes());
        c.release(60);
        assertEquals(0, shared.usedBytes());

        assertNull(shared.acquireOrWait(100, () -> {}));
        assertFalse(c.tryAcquire(70, () -> resumed[0]++));
        shared.release(100);
        c.close();
        runLoop();
        assertEquals(0, shared.usedBytes(), "a grant arriving after close is returned");
        assertEquals(1, resumed[0]);
    }
}
