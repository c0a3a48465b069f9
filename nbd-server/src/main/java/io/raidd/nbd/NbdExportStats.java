package io.raidd.nbd;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * Plain live counters for one export, readable from any thread. Counters start when the export is
 * added and are dropped with it.
 */
public final class NbdExportStats {
    private final LongAdder requests = new LongAdder();
    private final LongAdder errors = new LongAdder();
    private final LongAdder bytesRead = new LongAdder();
    private final LongAdder bytesWritten = new LongAdder();
    private final AtomicInteger connections = new AtomicInteger();

    NbdExportStats() {}

    /** Transmission requests answered (DISC excluded), successful or not. */
    public long requests() {
        return requests.sum();
    }

    /** Requests answered with a nonzero error. */
    public long errors() {
        return errors.sum();
    }

    /** Payload bytes sent to clients by successful READs. */
    public long bytesRead() {
        return bytesRead.sum();
    }

    /** Payload bytes stored by successful WRITEs. */
    public long bytesWritten() {
        return bytesWritten.sum();
    }

    /** Connections currently in the transmission phase on this export. */
    public int activeConnections() {
        return connections.get();
    }

    void recordReply(int errno) {
        requests.increment();
        if (errno != NbdErrno.OK) {
            errors.increment();
        }
    }

    void addBytesRead(long n) {
        bytesRead.add(n);
    }

    void addBytesWritten(long n) {
        bytesWritten.add(n);
    }

    void connectionOpened() {
        connections.incrementAndGet();
    }

    void connectionClosed() {
        connections.decrementAndGet();
    }

    @Override
    public String toString() {
        return "requests=" + requests() + " errors=" + errors() + " bytesRead=" + bytesRead() + " bytesWritten="
                + bytesWritten() + " connections=" + activeConnections();
    }
}
