package io.raidd.nbd;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/** A registered export with its counters and the transmission sessions attached to it. */
final class ExportEntry {
    final NbdExport export;
    final NbdExportStats stats = new NbdExportStats();

    private final Set<NbdTransmissionHandler> sessions = new HashSet<>();
    private final CompletableFuture<Void> removed = new CompletableFuture<>();
    private boolean removing;

    ExportEntry(NbdExport export) {
        this.export = export;
    }

    /** Returns false when the export is being removed; the caller must then drop the connection. */
    synchronized boolean attach(NbdTransmissionHandler session) {
        if (removing) {
            return false;
        }
        sessions.add(session);
        stats.connectionOpened();
        return true;
    }

    void detach(NbdTransmissionHandler session) {
        boolean done;
        synchronized (this) {
            if (!sessions.remove(session)) {
                return;
            }
            stats.connectionClosed();
            done = removing && sessions.isEmpty();
        }
        if (done) {
            removed.complete(null);
        }
    }

    /** Drains every session (in-flight requests finish, then the connection closes). */
    CompletableFuture<Void> remove() {
        List<NbdTransmissionHandler> toDrain;
        synchronized (this) {
            removing = true;
            toDrain = new ArrayList<>(sessions);
        }
        if (toDrain.isEmpty()) {
            removed.complete(null);
        }
        for (NbdTransmissionHandler session : toDrain) {
            session.shutdown();
        }
        return removed;
    }

    synchronized boolean isRemoving() {
        return removing;
    }

    synchronized List<NbdTransmissionHandler> sessions() {
        return new ArrayList<>(sessions);
    }
}
