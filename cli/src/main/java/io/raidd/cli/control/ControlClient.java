package io.raidd.cli.control;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.ConnectException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One request to a running raidd over its control socket ({@link ControlProtocol}): connect, send
 * the request, read the reply lines until raidd closes. Not thread-safe; one request per instance.
 */
public final class ControlClient implements AutoCloseable {

    /** Called for each reply line; returns false to stop reading (the connection is then closed). */
    @FunctionalInterface
    public interface LineHandler {
        boolean line(JsonNode line) throws ControlException, IOException;
    }

    private final Path path;
    private final SocketChannel channel;
    private final LineBuffer in = new LineBuffer(ControlProtocol.MAX_REPLY_BYTES);
    private boolean sent;

    private ControlClient(Path path, SocketChannel channel) {
        this.path = path;
        this.channel = channel;
    }

    /**
     * Connects to the daemon's control socket.
     *
     * @throws IOException with a message for the operator ("is raidd running? no control socket at PATH")
     */
    public static ControlClient connect(Path path) throws IOException {
        // JSON set-up costs a cold JVM a second or more; not on raidd's idle clock.
        ControlProtocol.mapper();
        if (!Files.exists(path)) {
            throw new IOException("is raidd running? no control socket at " + path);
        }
        try {
            return new ControlClient(path, SocketChannel.open(UnixDomainSocketAddress.of(path)));
        } catch (ConnectException e) {
            throw new IOException("is raidd running? nothing listens on the control socket " + path, e);
        } catch (IOException e) {
            if (!Files.exists(path)) {
                throw new IOException("is raidd running? no control socket at " + path, e);
            }
            String reason = String.valueOf(e.getMessage());
            if (reason.toLowerCase(Locale.ROOT).contains("permission denied")) {
                throw new IOException(
                        "permission denied on the control socket " + path + " (it is for raidd's own user; try sudo)",
                        e);
            }
            throw new IOException("cannot connect to raidd at " + path + ": " + reason, e);
        }
    }

    public Path path() {
        return path;
    }

    /** Sends the request and returns every reply line, the last one with {@code "ok"}. */
    public List<JsonNode> request(JsonNode request) throws IOException, ControlException {
        List<JsonNode> lines = new ArrayList<>();
        stream(request, line -> {
            lines.add(line);
            return true;
        });
        return lines;
    }

    /** {@link #request(JsonNode)} from a map ({@code version} is added when missing). */
    public List<JsonNode> request(Map<String, ?> request) throws IOException, ControlException {
        ObjectNode o = ControlProtocol.mapper().valueToTree(request);
        if (!o.has("version")) {
            o.put("version", ControlProtocol.VERSION);
        }
        return request(o);
    }

    /** {@link #request(JsonNode)} for a typed request. */
    public List<JsonNode> request(ControlRequest request) throws IOException, ControlException {
        return request(ControlProtocol.encode(request));
    }

    /**
     * A one-line request's result: the final line when it says {@code "ok":true}.
     *
     * @throws ControlException with raidd's one-line reason when it refused
     */
    public JsonNode call(ControlRequest request) throws IOException, ControlException {
        List<JsonNode> lines = request(request);
        JsonNode last = lines.isEmpty() ? null : lines.get(lines.size() - 1);
        return result(last);
    }

    /**
     * Sends the request and hands each reply line to {@code handler} until raidd closes the
     * connection or the handler returns false.
     */
    public void stream(JsonNode request, LineHandler handler) throws IOException, ControlException {
        if (sent) {
            throw new IllegalStateException("one request per connection");
        }
        sent = true;
        ByteBuffer b = ByteBuffer.wrap(ControlProtocol.line(request));
        IOException writeFailure = null;
        try {
            while (b.hasRemaining()) {
                channel.write(b);
            }
        } catch (IOException e) {
            // raidd may have refused before reading (too many connections); its line says why.
            writeFailure = e;
        }
        boolean any = false;
        while (true) {
            byte[] line;
            try {
                line = nextLine();
            } catch (IOException e) {
                // raidd closes as soon as it has answered; a reset after a whole line is its end.
                if (any
                        && String.valueOf(e.getMessage())
                                .toLowerCase(Locale.ROOT)
                                .contains("reset")) {
                    return;
                }
                throw writeFailure != null ? closedEarly(writeFailure) : e;
            }
            if (line == null) {
                if (!any) {
                    throw writeFailure != null
                            ? closedEarly(writeFailure)
                            : new IOException("raidd closed the control connection without a reply");
                }
                return;
            }
            any = true;
            if (!handler.line(ControlProtocol.parseReply(line))) {
                return;
            }
        }
    }

    private static IOException closedEarly(IOException cause) {
        return new IOException(
                "raidd closed the control connection before taking the request: " + cause.getMessage(), cause);
    }

    /** The line when it is a success; raidd's error as a {@link ControlException} otherwise. */
    public static JsonNode result(JsonNode line) throws ControlException {
        if (line == null || !line.has("ok")) {
            throw new ControlException("raidd's reply ended without a result");
        }
        if (!line.path("ok").asBoolean(false)) {
            throw new ControlException(line.path("error").asText("raidd refused without a reason"));
        }
        return line;
    }

    private byte[] nextLine() throws IOException {
        while (true) {
            byte[] line = in.nextLine();
            if (line != null) {
                return line;
            }
            if (in.readFrom(channel) < 0) {
                if (in.hasPartialLine()) {
                    throw new IOException("raidd closed the control connection in the middle of a reply");
                }
                return null;
            }
        }
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
