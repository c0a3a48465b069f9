package io.raidd.cli.control;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.lang.System.Logger.Level;
import java.util.List;
import java.util.function.Consumer;

/**
 * Runs decoded requests against the {@link ControlService} and turns the outcome into the reply
 * line; logs who changed what. No sockets here: the server owns the connection, the streaming and
 * the timeouts.
 */
final class ControlDispatcher {
    private static final System.Logger LOG = System.getLogger("io.raidd.control");

    private final ControlService service;

    ControlDispatcher(ControlService service) {
        this.service = service;
    }

    ControlService service() {
        return service;
    }

    /** A request that is answered by one line (everything but wait and monitor). */
    ObjectNode execute(ControlRequest request, String peer) {
        try {
            ObjectNode reply = run(request);
            if (request.changing()) {
                LOG.log(
                        Level.INFO,
                        "control: {0}: {1}: {2}",
                        peer,
                        request.describe(),
                        reply.path("message").asText());
            } else {
                LOG.log(Level.DEBUG, "control: {0}: {1}", peer, request.describe());
            }
            return reply;
        } catch (ControlException e) {
            LOG.log(
                    request.changing() ? Level.INFO : Level.DEBUG,
                    "control: {0}: {1}: refused: {2}",
                    peer,
                    request.describe(),
                    e.getMessage());
            return ControlProtocol.error(e.getMessage());
        } catch (RuntimeException e) {
            return internalError(request, peer, e);
        }
    }

    /**
     * Waits for the volume's sync actions to end, handing each progress status to {@code progress}
     * (which must not block: it runs on whatever thread the service reports from); the final line.
     */
    ObjectNode await(ControlRequest.Wait request, String peer, Consumer<VolumeStatus> progress)
            throws InterruptedException {
        LOG.log(Level.DEBUG, "control: {0}: {1}", peer, request.describe());
        try {
            VolumeStatus end = service.await(request.volume(), request.intervalMillis(), progress);
            if (end == null) {
                throw new IllegalStateException("await returned no status");
            }
            return ControlProtocol.waited(end);
        } catch (ControlException e) {
            return ControlProtocol.error(e.getMessage());
        } catch (RuntimeException e) {
            return internalError(request, peer, e);
        }
    }

    private ObjectNode run(ControlRequest request) throws ControlException {
        if (request instanceof ControlRequest.Status r) {
            List<VolumeStatus> volumes = service.status(r.volume());
            return ControlProtocol.status(volumes == null ? List.of() : volumes);
        }
        if (request instanceof ControlRequest.Scrub r) {
            ControlService.ScrubReply reply = service.scrub(r.volume(), r.action(), r.repair());
            return ControlProtocol.scrub(ControlProtocol.oneLine(reply.message()), reply.status());
        }
        String message;
        if (request instanceof ControlRequest.Fail r) {
            message = service.fail(r.volume(), r.member());
        } else if (request instanceof ControlRequest.Remove r) {
            message = service.remove(r.volume(), r.member());
        } else if (request instanceof ControlRequest.Add r) {
            message = service.add(r.volume(), r.path());
        } else if (request instanceof ControlRequest.Replace r) {
            message = service.replace(r.volume(), r.oldMember(), r.newPath());
        } else if (request instanceof ControlRequest.RebuildLimits r) {
            message = service.rebuildLimits(r.volume(), r.minBytesPerSecond(), r.maxBytesPerSecond());
        } else if (request instanceof ControlRequest.Inject r) {
            message = service.inject(r.volume(), r.member(), r.fault());
        } else {
            throw new IllegalArgumentException("not a one-line request: " + request.command());
        }
        return ControlProtocol.ok(message == null ? "done" : ControlProtocol.oneLine(message));
    }

    private static ObjectNode internalError(ControlRequest request, String peer, RuntimeException e) {
        LOG.log(Level.WARNING, "control: " + peer + ": " + request.describe() + " failed", e);
        return ControlProtocol.error("internal error in raidd (" + e.getClass().getSimpleName() + ": " + e.getMessage()
                + "); see raidd's log");
    }
}
