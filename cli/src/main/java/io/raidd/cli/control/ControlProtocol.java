package io.raidd.cli.control;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.raidd.cli.control.ControlService.FaultSpec;
import io.raidd.raid.event.ArrayEvent;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The control socket's wire format, version 1 ({@code docs/control-protocol.md} is the operator's
 * description; this class is the definition). Newline-delimited JSON (UTF-8) over a unix-domain
 * stream socket, one request per connection:
 *
 * <pre>
 *   client                                         server
 *   {"version":1,"command":"status"}\n   ---->
 *                                        <----     {"ok":true,"volumes":[...]}\n   then close
 *
 *   {"version":1,"command":"wait","volume":"v"}\n ---->
 *                                        <----     {"progress":{VolumeStatus}}\n   (0..n)
 *                                        <----     {"ok":true,"healthy":true,"volume":{...}}\n
 *
 *   {"version":1,"command":"monitor"}\n  ---->
 *                                        <----     {"subscribed":true}\n
 *                                        <----     {"event":{"type":..,"array":..,"member":..,
 *                                                            "detail":..,"time":..}}\n  (0..n)
 *                                        <----     {"dropped":N}\n  (when it could not keep up)
 *
 *   any failure                          <----     {"ok":false,"error":"one line"}\n  then close
 * </pre>
 *
 * <p>A line with {@code "ok"} is always the server's last. Requests are strict (unknown fields are
 * errors, so a typo never silently does something else); replies may gain fields within a version,
 * so clients ignore fields they do not know.
 */
public final class ControlProtocol {
    private ControlProtocol() {}

    /** The version this raidd writes and the versions it accepts. */
    public static final int VERSION = 1;

    public static final List<Integer> SUPPORTED_VERSIONS = List.of(1);

    /** Longest request line, newline excluded. */
    public static final int MAX_REQUEST_BYTES = 64 * 1024;

    /** Longest reply line a client accepts (the status of many volumes fits many times over). */
    public static final int MAX_REPLY_BYTES = 16 * 1024 * 1024;

    /** Longest string field (PATH_MAX). */
    public static final int MAX_STRING_CHARS = 4096;

    public static final long DEFAULT_WAIT_INTERVAL_MILLIS = 1000;
    public static final long MIN_WAIT_INTERVAL_MILLIS = 100;
    public static final long MAX_WAIT_INTERVAL_MILLIS = 60_000;

    public static final long MAX_SLOW_MILLIS = 3_600_000;
    public static final int MAX_FLIP_BITS = 1_000_000;

    /** The commands, in the order the documentation lists them. */
    public static final List<String> COMMANDS = List.of(
            "status", "fail", "remove", "add", "replace", "rebuild-limits", "wait", "monitor", "inject", "scrub");

    /** What a {@code scrub} request may ask. */
    public static final List<String> SCRUB_ACTIONS = List.of("start", "pause", "resume", "status");

    public static final List<String> FAULT_KINDS =
            List.of("fail", "eio-read", "eio-write", "hang", "slow", "flip-bits", "clear");

    /** "unlimited" may stand for {@link Long#MAX_VALUE} in rate fields. */
    public static final String UNLIMITED = "unlimited";

    /**
     * Parses requests: strict JSON, bounded in every dimension a hostile line could inflate (the
     * line itself is already at most {@link #MAX_REQUEST_BYTES}), duplicate keys refused (which of
     * two "command" fields would win is not something a client should have to guess).
     */
    private static final ObjectMapper REQUESTS = new ObjectMapper(JsonFactory.builder()
                    .streamReadConstraints(StreamReadConstraints.builder()
                            .maxDocumentLength(MAX_REQUEST_BYTES + 2)
                            .maxNestingDepth(8)
                            .maxNumberLength(40)
                            .maxNameLength(256)
                            .maxStringLength(MAX_REQUEST_BYTES)
                            .build())
                    .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
                    .build())
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    /** Writes every line and reads replies (bounded by the client's line limit). */
    private static final ObjectMapper REPLIES = new ObjectMapper(JsonFactory.builder()
                    .streamReadConstraints(StreamReadConstraints.builder()
                            .maxDocumentLength(MAX_REPLY_BYTES + 2)
                            .maxNestingDepth(32)
                            .maxStringLength(MAX_REPLY_BYTES)
                            .build())
                    .build())
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    // ---- requests -------------------------------------------------------------------------

    /** Decodes one request line (without its newline); the message of the exception is the reply. */
    public static ControlRequest decode(byte[] line) throws ControlException {
        JsonNode root;
        try {
            root = REQUESTS.readTree(line);
        } catch (JsonProcessingException e) {
            throw new ControlException("invalid JSON: " + oneLine(e.getOriginalMessage()));
        } catch (IOException e) {
            throw new ControlException("invalid request: " + oneLine(e.getMessage()));
        }
        if (root == null || root.isMissingNode()) {
            throw new ControlException("empty request; send one JSON object on one line, like "
                    + "{\"version\":1,\"command\":\"status\"}");
        }
        if (!root.isObject()) {
            throw new ControlException("a request is a JSON object, not " + kind(root));
        }
        return decode((ObjectNode) root);
    }

    static ControlRequest decode(ObjectNode o) throws ControlException {
        JsonNode version = o.get("version");
        if (version == null || version.isNull()) {
            throw new ControlException("missing field 'version' (this raidd speaks version " + versions() + ")");
        }
        if (!version.isIntegralNumber() || !version.canConvertToInt()) {
            throw new ControlException(
                    "field 'version' must be an integer (this raidd speaks version " + versions() + ")");
        }
        if (!SUPPORTED_VERSIONS.contains(version.intValue())) {
            throw new ControlException(
                    "unsupported protocol version " + version.intValue() + "; this raidd speaks version " + versions());
        }
        JsonNode commandNode = o.get("command");
        if (commandNode == null || commandNode.isNull()) {
            throw new ControlException("missing field 'command' (one of " + String.join(", ", COMMANDS) + ")");
        }
        if (!commandNode.isTextual()) {
            throw new ControlException("field 'command' must be a string, not " + kind(commandNode));
        }
        String command = commandNode.textValue();
        Fields f = new Fields(o, command);
        return switch (command) {
            case "status" -> {
                f.allow("volume");
                yield new ControlRequest.Status(f.string("volume", false));
            }
            case "fail" -> {
                f.allow("volume", "member");
                yield new ControlRequest.Fail(f.string("volume", true), f.string("member", true));
            }
            case "remove" -> {
                f.allow("volume", "member");
                yield new ControlRequest.Remove(f.string("volume", true), f.string("member", true));
            }
            case "add" -> {
                f.allow("volume", "path");
                yield new ControlRequest.Add(f.string("volume", true), f.string("path", true));
            }
            case "replace" -> {
                f.allow("volume", "old", "new");
                yield new ControlRequest.Replace(
                        f.string("volume", true), f.string("old", true), f.string("new", true));
            }
            case "rebuild-limits" -> {
                f.allow("volume", "minBytesPerSecond", "maxBytesPerSecond");
                String volume = f.string("volume", true);
                Long min = f.rate("minBytesPerSecond");
                Long max = f.rate("maxBytesPerSecond");
                if (min == null && max == null) {
                    throw new ControlException(
                            "command 'rebuild-limits' needs 'minBytesPerSecond' or 'maxBytesPerSecond' (or both)");
                }
                if (min != null && max != null && min > max) {
                    throw new ControlException(
                            "minBytesPerSecond " + min + " is above maxBytesPerSecond " + max + " (bytes per second)");
                }
                yield new ControlRequest.RebuildLimits(volume, min, max);
            }
            case "wait" -> {
                f.allow("volume", "intervalMillis");
                String volume = f.string("volume", true);
                Long interval = f.integer("intervalMillis", MIN_WAIT_INTERVAL_MILLIS, MAX_WAIT_INTERVAL_MILLIS);
                yield new ControlRequest.Wait(volume, interval == null ? DEFAULT_WAIT_INTERVAL_MILLIS : interval);
            }
            case "monitor" -> {
                f.allow();
                yield new ControlRequest.Monitor();
            }
            case "inject" -> {
                f.allow("volume", "member", "fault");
                yield new ControlRequest.Inject(
                        f.string("volume", true), f.string("member", true), fault(f.object("fault")));
            }
            case "scrub" -> {
                f.allow("volume", "action", "mode");
                String volume = f.string("volume", true);
                String action = f.string("action", true);
                if (!SCRUB_ACTIONS.contains(action)) {
                    throw new ControlException("unknown scrub action '" + clip(action) + "' (actions: "
                            + String.join(", ", SCRUB_ACTIONS) + ")");
                }
                String mode = f.string("mode", false);
                if (mode != null && !action.equals("start")) {
                    throw new ControlException("field 'mode' only applies to scrub action 'start'");
                }
                if (mode != null && !mode.equals("check") && !mode.equals("repair")) {
                    throw new ControlException("scrub mode must be 'check' or 'repair', not '" + clip(mode) + "'");
                }
                yield new ControlRequest.Scrub(volume, action, mode == null || mode.equals("repair"));
            }
            default ->
                throw new ControlException(
                        "unknown command '" + clip(command) + "' (commands: " + String.join(", ", COMMANDS) + ")");
        };
    }

    private static FaultSpec fault(ObjectNode o) throws ControlException {
        Fields f = new Fields(o, "inject", "fault.");
        f.allow("kind", "offsetBytes", "lengthBytes", "millis", "count");
        String kind = f.string("kind", true);
        if (!FAULT_KINDS.contains(kind)) {
            throw new ControlException(
                    "unknown fault kind '" + clip(kind) + "' (kinds: " + String.join(", ", FAULT_KINDS) + ")");
        }
        boolean range = kind.equals("eio-read") || kind.equals("eio-write");
        long offset = f.onlyFor("offsetBytes", range, kind, 0, Long.MAX_VALUE);
        long length = f.onlyFor("lengthBytes", range, kind, 0, Long.MAX_VALUE);
        long millis = f.onlyFor("millis", kind.equals("slow"), kind, 1, MAX_SLOW_MILLIS);
        long count = f.onlyFor("count", kind.equals("flip-bits"), kind, 1, MAX_FLIP_BITS);
        if (range && length == 0 && offset != 0) {
            throw new ControlException(
                    "fault.lengthBytes must be positive (offsetBytes 0 with lengthBytes 0 is the whole member)");
        }
        if (offset > Long.MAX_VALUE - length) {
            throw new ControlException("fault.offsetBytes + fault.lengthBytes is out of range");
        }
        if (kind.equals("slow") && millis == 0) {
            throw new ControlException(
                    "fault kind 'slow' needs 'millis' (added latency per I/O, 1.." + MAX_SLOW_MILLIS + ")");
        }
        if (kind.equals("flip-bits") && count == 0) {
            throw new ControlException("fault kind 'flip-bits' needs 'count' (1.." + MAX_FLIP_BITS + ")");
        }
        return new FaultSpec(kind, offset, length, millis, (int) count);
    }

    /** The request's wire form (what {@link ControlClient} sends). */
    public static ObjectNode encode(ControlRequest request) {
        ObjectNode o = NODES.objectNode();
        o.put("version", VERSION);
        o.put("command", request.command());
        if (request instanceof ControlRequest.Status r) {
            if (r.volume() != null) {
                o.put("volume", r.volume());
            }
        } else if (request instanceof ControlRequest.Fail r) {
            o.put("volume", r.volume()).put("member", r.member());
        } else if (request instanceof ControlRequest.Remove r) {
            o.put("volume", r.volume()).put("member", r.member());
        } else if (request instanceof ControlRequest.Add r) {
            o.put("volume", r.volume()).put("path", r.path());
        } else if (request instanceof ControlRequest.Replace r) {
            o.put("volume", r.volume()).put("old", r.oldMember()).put("new", r.newPath());
        } else if (request instanceof ControlRequest.RebuildLimits r) {
            o.put("volume", r.volume());
            putRate(o, "minBytesPerSecond", r.minBytesPerSecond());
            putRate(o, "maxBytesPerSecond", r.maxBytesPerSecond());
        } else if (request instanceof ControlRequest.Wait r) {
            o.put("volume", r.volume()).put("intervalMillis", r.intervalMillis());
        } else if (request instanceof ControlRequest.Inject r) {
            o.put("volume", r.volume()).put("member", r.member());
            ObjectNode fault = o.putObject("fault").put("kind", r.fault().kind());
            FaultSpec s = r.fault();
            if (s.offsetBytes() != 0 || s.lengthBytes() != 0) {
                fault.put("offsetBytes", s.offsetBytes()).put("lengthBytes", s.lengthBytes());
            }
            if (s.millis() != 0) {
                fault.put("millis", s.millis());
            }
            if (s.count() != 0) {
                fault.put("count", s.count());
            }
        }
        if (request instanceof ControlRequest.Scrub r) {
            o.put("volume", r.volume()).put("action", r.action());
            if (r.action().equals("start")) {
                o.put("mode", r.repair() ? "repair" : "check");
            }
        }
        return o;
    }

    private static void putRate(ObjectNode o, String name, Long bytesPerSecond) {
        if (bytesPerSecond != null) {
            if (bytesPerSecond == Long.MAX_VALUE) {
                o.put(name, UNLIMITED);
            } else {
                o.put(name, bytesPerSecond.longValue());
            }
        }
    }

    // ---- replies ----------------------------------------------------------------------------

    public static ObjectNode ok(String message) {
        return NODES.objectNode().put("ok", true).put("message", message);
    }

    public static ObjectNode error(String message) {
        return NODES.objectNode().put("ok", false).put("error", oneLine(message));
    }

    public static ObjectNode status(List<VolumeStatus> volumes) {
        ObjectNode o = NODES.objectNode().put("ok", true);
        o.set("volumes", volumes(volumes));
        return o;
    }

    /** {@code {"volumes":[...]}}: what {@code raidctl status --json} prints. */
    public static ArrayNode volumes(List<VolumeStatus> volumes) {
        ArrayNode a = NODES.arrayNode();
        for (VolumeStatus v : volumes) {
            a.add(volume(v));
        }
        return a;
    }

    public static ObjectNode progress(VolumeStatus volume) {
        ObjectNode o = NODES.objectNode();
        o.set("progress", volume(volume));
        return o;
    }

    public static ObjectNode waited(VolumeStatus volume) {
        ObjectNode o = NODES.objectNode().put("ok", true).put("healthy", volume.healthy());
        o.set("volume", volume(volume));
        return o;
    }

    /** {@code {"ok":true,"message":..,"scrub":{..}}}: the reply to every scrub request. */
    public static ObjectNode scrub(String message, io.raidd.scrubber.ScrubStatus status) {
        ObjectNode o = ok(message);
        o.set("scrub", scrubStatus(status));
        return o;
    }

    /** A scrub's status as {@code raidctl scrub status --json} prints it. */
    public static ObjectNode scrubStatus(io.raidd.scrubber.ScrubStatus s) {
        ObjectNode o = NODES.objectNode()
                .put("volume", s.volume())
                .put("state", s.state())
                .put("mode", s.mode())
                .put("doneBytes", s.doneBytes())
                .put("totalBytes", s.totalBytes())
                .put("bytesPerSecond", s.bytesPerSecond())
                .put("etaSeconds", s.etaSeconds())
                .put(
                        "started",
                        s.startedMillis() == 0
                                ? null
                                : Instant.ofEpochMilli(s.startedMillis()).toString())
                .put(
                        "ended",
                        s.endedMillis() == 0
                                ? null
                                : Instant.ofEpochMilli(s.endedMillis()).toString())
                .put("found", s.found())
                .put("repaired", s.repaired())
                .put("unresolved", s.unresolved());
        if (s.nextScheduledMillis() > 0) {
            o.put("nextScheduled", Instant.ofEpochMilli(s.nextScheduledMillis()).toString());
        }
        o.set("members", memberCounts(s.members()));
        ArrayNode findings = o.putArray("findings");
        for (io.raidd.scrubber.Finding f : s.findings()) {
            ObjectNode n = findings.addObject()
                    .put("member", f.member())
                    .put("slot", f.slot())
                    .put("memberOffset", f.memberOffsetBytes())
                    .put("lengthBytes", f.lengthBytes())
                    .put("kind", f.kind().label())
                    .put("cause", f.cause().label())
                    .put("repaired", f.repaired())
                    .put("unresolved", f.unresolved());
            if (f.volumeOffsetBytes() >= 0) {
                n.put("volumeOffset", f.volumeOffsetBytes());
            } else {
                n.putNull("volumeOffset");
            }
            if (!f.detail().isEmpty()) {
                n.put("detail", f.detail());
            }
        }
        ArrayNode history = o.putArray("history");
        for (io.raidd.scrubber.ScrubStatus.Summary h : s.history()) {
            ObjectNode n = history.addObject()
                    .put("state", h.state())
                    .put("mode", h.mode())
                    .put("started", Instant.ofEpochMilli(h.startedMillis()).toString())
                    .put(
                            "ended",
                            h.endedMillis() == 0
                                    ? null
                                    : Instant.ofEpochMilli(h.endedMillis()).toString())
                    .put("doneBytes", h.doneBytes())
                    .put("totalBytes", h.totalBytes())
                    .put("bytesPerSecond", h.bytesPerSecond())
                    .put("found", h.found())
                    .put("repaired", h.repaired())
                    .put("unresolved", h.unresolved());
            n.set("members", memberCounts(h.members()));
        }
        return o;
    }

    private static ArrayNode memberCounts(List<io.raidd.scrubber.ScrubStatus.MemberCounts> counts) {
        ArrayNode a = NODES.arrayNode();
        for (io.raidd.scrubber.ScrubStatus.MemberCounts c : counts) {
            a.addObject()
                    .put("member", c.member())
                    .put("slot", c.slot())
                    .put("found", c.found())
                    .put("repaired", c.repaired())
                    .put("unresolved", c.unresolved());
        }
        return a;
    }

    public static ObjectNode subscribed() {
        return NODES.objectNode().put("subscribed", true);
    }

    public static ObjectNode event(ArrayEvent event) {
        ObjectNode o = NODES.objectNode();
        o.putObject("event")
                .put("type", event.type().name())
                .put("array", event.array())
                .put("member", event.member())
                .put("detail", event.detail())
                .put("time", Instant.ofEpochMilli(event.epochMillis()).toString());
        return o;
    }

    public static ObjectNode dropped(long events) {
        return NODES.objectNode().put("dropped", events);
    }

    public static ObjectNode volume(VolumeStatus volume) {
        return REPLIES.valueToTree(volume);
    }

    /** A reply's volume back as the record (fields this version does not know are ignored). */
    public static VolumeStatus volume(JsonNode node) throws ControlException {
        try {
            return REPLIES.treeToValue(node, VolumeStatus.class);
        } catch (JsonProcessingException | IllegalArgumentException e) {
            throw new ControlException(
                    "raidd sent a volume status this raidctl cannot read: " + oneLine(e.getMessage()));
        }
    }

    /** One reply line (without its newline) as a tree. */
    public static JsonNode parseReply(byte[] line) throws ControlException {
        try {
            JsonNode n = REPLIES.readTree(line);
            if (n == null || !n.isObject()) {
                throw new ControlException("raidd sent a reply line that is not a JSON object");
            }
            return n;
        } catch (JsonProcessingException e) {
            throw new ControlException(
                    "raidd sent a reply this raidctl cannot read: " + oneLine(e.getOriginalMessage()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A line's bytes, newline included. */
    public static byte[] line(JsonNode node) {
        try {
            byte[] json = REPLIES.writeValueAsBytes(node);
            byte[] line = new byte[json.length + 1];
            System.arraycopy(json, 0, line, 0, json.length);
            line[json.length] = '\n';
            return line;
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot encode a JSON tree", e);
        }
    }

    /** Pretty multi-line JSON for people (raidctl status --json). */
    public static String pretty(JsonNode node) {
        try {
            return REPLIES.writerWithDefaultPrettyPrinter().writeValueAsString(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot encode a JSON tree", e);
        }
    }

    public static ObjectMapper mapper() {
        return REPLIES;
    }

    // ---- helpers ----------------------------------------------------------------------------

    static String versions() {
        StringBuilder s = new StringBuilder();
        for (int v : SUPPORTED_VERSIONS) {
            s.append(s.length() == 0 ? "" : ", ").append(v);
        }
        return s.toString();
    }

    /** A message as one short line: control characters become spaces, long ones are cut. */
    static String oneLine(String message) {
        if (message == null) {
            return "(no detail)";
        }
        String first = message.strip();
        int nl = first.indexOf('\n');
        if (nl >= 0) {
            first = first.substring(0, nl).strip();
        }
        StringBuilder s = new StringBuilder(Math.min(first.length(), 300));
        for (int i = 0; i < first.length() && s.length() < 300; i++) {
            char c = first.charAt(i);
            s.append(Character.isISOControl(c) ? ' ' : c);
        }
        if (first.length() > 300) {
            s.append("...");
        }
        return s.toString();
    }

    private static String clip(String text) {
        String s = oneLine(text);
        return s.length() > 64 ? s.substring(0, 64) + "..." : s;
    }

    private static String kind(JsonNode n) {
        return switch (n.getNodeType()) {
            case ARRAY -> "an array";
            case OBJECT -> "an object";
            case STRING -> "a string";
            case NUMBER -> "a number";
            case BOOLEAN -> "a boolean";
            case NULL -> "null";
            default -> n.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
        };
    }

    /** The fields of one request object, checked as they are taken. */
    private static final class Fields {
        private final ObjectNode o;
        private final String command;
        private final String prefix;

        Fields(ObjectNode o, String command) {
            this(o, command, "");
        }

        Fields(ObjectNode o, String command, String prefix) {
            this.o = o;
            this.command = command;
            this.prefix = prefix;
        }

        /** Refuses any field but these (and, at the top level, version and command). */
        void allow(String... names) throws ControlException {
            Set<String> allowed = new LinkedHashSet<>(List.of(names));
            Iterator<String> it = o.fieldNames();
            while (it.hasNext()) {
                String name = it.next();
                boolean envelope = prefix.isEmpty() && (name.equals("version") || name.equals("command"));
                if (!envelope && !allowed.contains(name)) {
                    String where = prefix.isEmpty() ? "command '" + command + "'" : "'" + prefix.replace(".", "") + "'";
                    throw new ControlException("unknown field '" + prefix + clip(name) + "' for " + where
                            + (allowed.isEmpty()
                                    ? " (it takes no fields)"
                                    : " (fields: " + String.join(", ", allowed) + ")"));
                }
            }
        }

        String string(String name, boolean required) throws ControlException {
            JsonNode n = o.get(name);
            if (n == null || n.isNull()) {
                if (required) {
                    throw new ControlException(
                            "command '" + command + "' needs field '" + prefix + name + "' (a string)");
                }
                return null;
            }
            if (!n.isTextual()) {
                throw new ControlException("field '" + prefix + name + "' must be a string, not " + kind(n));
            }
            String s = n.textValue();
            if (s.isEmpty()) {
                throw new ControlException("field '" + prefix + name + "' must not be empty");
            }
            if (s.length() > MAX_STRING_CHARS) {
                throw new ControlException(
                        "field '" + prefix + name + "' is longer than " + MAX_STRING_CHARS + " characters");
            }
            for (int i = 0; i < s.length(); i++) {
                if (Character.isISOControl(s.charAt(i))) {
                    throw new ControlException("field '" + prefix + name + "' contains a control character");
                }
            }
            return s;
        }

        Long integer(String name, long min, long max) throws ControlException {
            JsonNode n = o.get(name);
            if (n == null || n.isNull()) {
                return null;
            }
            if (!n.isIntegralNumber()) {
                throw new ControlException("field '" + prefix + name + "' must be an integer, not " + kind(n));
            }
            if (!n.canConvertToLong() || n.longValue() < min || n.longValue() > max) {
                throw new ControlException("field '" + prefix + name + "' must be from " + min + " to " + max);
            }
            return n.longValue();
        }

        /** A rate: a positive integer (bytes per second) or "unlimited". */
        Long rate(String name) throws ControlException {
            JsonNode n = o.get(name);
            if (n != null && n.isTextual()) {
                if (n.textValue().equals(UNLIMITED)) {
                    return Long.MAX_VALUE;
                }
                throw new ControlException(
                        "field '" + name + "' must be a positive integer (bytes per second) or \"unlimited\"");
            }
            if (n != null && !n.isNull() && !n.isIntegralNumber()) {
                throw new ControlException("field '" + name + "' must be a positive integer (bytes per second) or "
                        + "\"unlimited\", not " + kind(n));
            }
            return integer(name, 1, Long.MAX_VALUE);
        }

        /** A number that only some fault kinds take; 0 when absent. */
        long onlyFor(String name, boolean applies, String kind, long min, long max) throws ControlException {
            Long v = integer(name, applies ? min : 0, applies ? max : Long.MAX_VALUE);
            if (v == null) {
                return 0;
            }
            if (!applies && v != 0) {
                throw new ControlException("field 'fault." + name + "' does not apply to fault kind '" + kind + "'");
            }
            return v;
        }

        ObjectNode object(String name) throws ControlException {
            JsonNode n = o.get(name);
            if (n == null || n.isNull()) {
                throw new ControlException("command '" + command + "' needs field '" + name + "' (an object)");
            }
            if (!n.isObject()) {
                throw new ControlException("field '" + name + "' must be an object, not " + kind(n));
            }
            return (ObjectNode) n;
        }
    }
}
