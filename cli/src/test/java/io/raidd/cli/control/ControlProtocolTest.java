package io.raidd.cli.control;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.raidd.cli.control.ControlService.FaultSpec;
import io.raidd.cli.control.VolumeStatus.MemberStatus;
import io.raidd.cli.control.VolumeStatus.SyncStatus;
import io.raidd.raid.event.ArrayEvent;
import io.raidd.raid.event.EventType;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ControlProtocolTest {

    private static ControlRequest decode(String json) throws ControlException {
        return ControlProtocol.decode(json.getBytes(StandardCharsets.UTF_8));
    }

    private static String refusal(String json) {
        return assertThrows(ControlException.class, () -> decode(json), json).getMessage();
    }

    private static String refusal(byte[] line) {
        return assertThrows(ControlException.class, () -> ControlProtocol.decode(line))
                .getMessage();
    }

    @Test
    void decodesEveryCommand() throws ControlException {
        assertEquals(new ControlRequest.Status(null), decode("{\"version\":1,\"command\":\"status\"}"));
        assertEquals(
                new ControlRequest.Status("vol0"),
                decode("{\"version\":1,\"command\":\"status\",\"volume\":\"vol0\"}"));
        assertEquals(new ControlRequest.Status(null), decode("{\"version\":1,\"command\":\"status\",\"volume\":null}"));
        assertEquals(
                new ControlRequest.Fail("vol0", "/d/d1.img"),
                decode("{\"version\":1,\"command\":\"fail\",\"volume\":\"vol0\",\"member\":\"/d/d1.img\"}"));
        assertEquals(
                new ControlRequest.Remove("vol0", "3"),
                decode("{\"command\":\"remove\",\"member\":\"3\",\"volume\":\"vol0\",\"version\":1}"));
        assertEquals(
                new ControlRequest.Add("vol0", "/d/new.img"),
                decode("{\"version\":1,\"command\":\"add\",\"volume\":\"vol0\",\"path\":\"/d/new.img\"}"));
        assertEquals(
                new ControlRequest.Replace("vol0", "/d/d1.img", "/d/n.img"),
                decode("{\"version\":1,\"command\":\"replace\",\"volume\":\"vol0\",\"old\":\"/d/d1.img\","
                        + "\"new\":\"/d/n.img\"}"));
        assertEquals(
                new ControlRequest.RebuildLimits("vol0", null, 50L << 20),
                decode("{\"version\":1,\"command\":\"rebuild-limits\",\"volume\":\"vol0\","
                        + "\"maxBytesPerSecond\":52428800}"));
        assertEquals(
                new ControlRequest.RebuildLimits("vol0", 1L, Long.MAX_VALUE),
                decode("{\"version\":1,\"command\":\"rebuild-limits\",\"volume\":\"vol0\","
                        + "\"minBytesPerSecond\":1,\"maxBytesPerSecond\":\"unlimited\"}"));
        assertEquals(
                new ControlRequest.Wait("vol0", 1000),
                decode("{\"version\":1,\"command\":\"wait\",\"volume\":\"vol0\"}"));
        assertEquals(
                new ControlRequest.Wait("vol0", 250),
                decode("{\"version\":1,\"command\":\"wait\",\"volume\":\"vol0\",\"intervalMillis\":250}"));
        assertEquals(new ControlRequest.Monitor(), decode("{\"version\":1,\"command\":\"monitor\"}"));
        assertEquals(
                new ControlRequest.Inject("vol0", "1", new FaultSpec("eio-read", 4096, 65536, 0, 0)),
                decode("{\"version\":1,\"command\":\"inject\",\"volume\":\"vol0\",\"member\":\"1\","
                        + "\"fault\":{\"kind\":\"eio-read\",\"offsetBytes\":4096,\"lengthBytes\":65536}}"));
        assertEquals(
                new ControlRequest.Inject("vol0", "1", new FaultSpec("slow", 0, 0, 200, 0)),
                decode("{\"version\":1,\"command\":\"inject\",\"volume\":\"vol0\",\"member\":\"1\","
                        + "\"fault\":{\"kind\":\"slow\",\"millis\":200,\"count\":0}}"));
        assertEquals(
                new ControlRequest.Inject("vol0", "1", new FaultSpec("flip-bits", 0, 0, 0, 7)),
                decode("{\"version\":1,\"command\":\"inject\",\"volume\":\"vol0\",\"member\":\"1\","
                        + "\"fault\":{\"kind\":\"flip-bits\",\"count\":7}}"));
    }

    @Test
    void refusesMalformedRequestsWithOneLine() {
        assertTrue(refusal("").startsWith("empty request"));
        assertTrue(refusal("   ").startsWith("empty request"));
        assertEquals("a request is a JSON object, not an array", refusal("[1,2]"));
        assertEquals("a request is a JSON object, not a string", refusal("\"status\""));
        assertEquals("a request is a JSON object, not a number", refusal("42"));
        assertEquals("a request is a JSON object, not null", refusal("null"));
        assertTrue(refusal("{\"version\":1,").startsWith("invalid JSON: "));
        assertTrue(refusal("{'version':1}").startsWith("invalid JSON: "));
        assertTrue(refusal("{\"version\":1,\"command\":\"status\"} {\"x\":1}").startsWith("invalid JSON: "));
        assertTrue(refusal("{\"version\":1,\"command\":\"status\",\"command\":\"fail\"}")
                .contains("Duplicate field"));
        assertTrue(refusal("{\"version\":1,\"command\":\"status\",\"volume\":\"v\u0000\"}")
                .startsWith("invalid JSON"));
        byte[] badUtf8 = "{\"version\":1,\"command\":\"status\",\"volume\":\"v?\"}".getBytes(StandardCharsets.UTF_8);
        badUtf8[badUtf8.length - 3] = (byte) 0xff;
        assertTrue(refusal(badUtf8).startsWith("invalid JSON: "), refusal(badUtf8));
        assertTrue(refusal("[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]").startsWith("invalid JSON: "));
        assertTrue(refusal("{\"version\":1" + "0".repeat(100) + "}").startsWith("invalid JSON: "));

        assertEquals("missing field 'version' (this raidd speaks version 1)", refusal("{\"command\":\"status\"}"));
        assertEquals(
                "unsupported protocol version 2; this raidd speaks version 1",
                refusal("{\"version\":2,\"command\":\"status\"}"));
        assertEquals(
                "field 'version' must be an integer (this raidd speaks version 1)",
                refusal("{\"version\":\"1\",\"command\":\"status\"}"));
        assertEquals(
                "field 'version' must be an integer (this raidd speaks version 1)",
                refusal("{\"version\":1.5,\"command\":\"status\"}"));
        assertTrue(refusal("{\"version\":1}").startsWith("missing field 'command' (one of status, fail,"));
        assertEquals("field 'command' must be a string, not a number", refusal("{\"version\":1,\"command\":7}"));
        assertTrue(refusal("{\"version\":1,\"command\":\"frobnicate\"}")
                .startsWith("unknown command 'frobnicate' (commands: status, fail, remove, add, replace,"));
        assertEquals(
                "command 'fail' needs field 'member' (a string)",
                refusal("{\"version\":1,\"command\":\"fail\",\"volume\":\"vol0\"}"));
        assertEquals(
                "unknown field 'colour' for command 'fail' (fields: volume, member)",
                refusal("{\"version\":1,\"command\":\"fail\",\"volume\":\"v\",\"member\":\"m\",\"colour\":1}"));
        assertEquals(
                "unknown field 'volume' for command 'monitor' (it takes no fields)",
                refusal("{\"version\":1,\"command\":\"monitor\",\"volume\":\"v\"}"));
        assertEquals(
                "field 'volume' must be a string, not a number",
                refusal("{\"version\":1,\"command\":\"fail\",\"volume\":3,\"member\":\"m\"}"));
        assertEquals(
                "field 'member' must be a string, not an object",
                refusal("{\"version\":1,\"command\":\"fail\",\"volume\":\"v\",\"member\":{}}"));
        assertEquals(
                "field 'volume' must not be empty",
                refusal("{\"version\":1,\"command\":\"fail\",\"volume\":\"\",\"member\":\"m\"}"));
        assertEquals(
                "field 'path' contains a control character",
                refusal("{\"version\":1,\"command\":\"add\",\"volume\":\"v\",\"path\":\"/a\\nb\"}"));
        assertEquals(
                "field 'path' is longer than 4096 characters",
                refusal("{\"version\":1,\"command\":\"add\",\"volume\":\"v\",\"path\":\"/" + "a".repeat(4096) + "\"}"));
    }

    @Test
    void refusesNumbersOutOfRangeAndFaultsThatDoNotFit() {
        assertEquals(
                "field 'intervalMillis' must be from 100 to 60000",
                refusal("{\"version\":1,\"command\":\"wait\",\"volume\":\"v\",\"intervalMillis\":5}"));
        assertEquals(
                "field 'intervalMillis' must be an integer, not a string",
                refusal("{\"version\":1,\"command\":\"wait\",\"volume\":\"v\",\"intervalMillis\":\"5\"}"));
        assertEquals(
                "field 'intervalMillis' must be from 100 to 60000",
                refusal(
                        "{\"version\":1,\"command\":\"wait\",\"volume\":\"v\",\"intervalMillis\":99999999999999999999}"));
        assertTrue(refusal("{\"version\":1,\"command\":\"rebuild-limits\",\"volume\":\"v\"}")
                .startsWith("command 'rebuild-limits' needs 'minBytesPerSecond' or 'maxBytesPerSecond'"));
        assertEquals(
                "field 'maxBytesPerSecond' must be from 1 to 9223372036854775807",
                refusal("{\"version\":1,\"command\":\"rebuild-limits\",\"volume\":\"v\",\"maxBytesPerSecond\":0}"));
        assertEquals(
                "minBytesPerSecond 100 is above maxBytesPerSecond 10 (bytes per second)",
                refusal("{\"version\":1,\"command\":\"rebuild-limits\",\"volume\":\"v\",\"minBytesPerSecond\":100,"
                        + "\"maxBytesPerSecond\":10}"));
        assertTrue(refusal(
                        "{\"version\":1,\"command\":\"rebuild-limits\",\"volume\":\"v\",\"maxBytesPerSecond\":\"fast\"}")
                .contains("or \"unlimited\""));
        String inject = "{\"version\":1,\"command\":\"inject\",\"volume\":\"v\",\"member\":\"m\",\"fault\":";
        assertEquals("command 'inject' needs field 'fault' (an object)", refusal(inject + "null}"));
        assertEquals("field 'fault' must be an object, not a string", refusal(inject + "\"fail\"}"));
        assertTrue(refusal(inject + "{\"kind\":\"melt\"}}").startsWith("unknown fault kind 'melt' (kinds: fail,"));
        assertEquals(
                "field 'fault.millis' does not apply to fault kind 'fail'",
                refusal(inject + "{\"kind\":\"fail\",\"millis\":3}}"));
        assertTrue(refusal(inject + "{\"kind\":\"slow\"}}").startsWith("fault kind 'slow' needs 'millis'"));
        assertTrue(refusal(inject + "{\"kind\":\"flip-bits\"}}").startsWith("fault kind 'flip-bits' needs 'count'"));
        assertEquals(
                "fault.lengthBytes must be positive (offsetBytes 0 with lengthBytes 0 is the whole member)",
                refusal(inject + "{\"kind\":\"eio-write\",\"offsetBytes\":4096}}"));
        assertEquals(
                "field 'fault.offsetBytes' must be from 0 to 9223372036854775807",
                refusal(inject + "{\"kind\":\"eio-write\",\"offsetBytes\":-1,\"lengthBytes\":1}}"));
        assertEquals(
                "unknown field 'fault.size' for 'fault' (fields: kind, offsetBytes, lengthBytes, millis, count)",
                refusal(inject + "{\"kind\":\"eio-write\",\"size\":1}}"));
    }

    @Test
    void encodedRequestsDecodeToThemselves() throws ControlException {
        long seed = System.nanoTime();
        System.out.println("ControlProtocolTest seed " + seed);
        Random r = new Random(seed);
        for (int i = 0; i < 2000; i++) {
            ControlRequest request = randomRequest(r);
            byte[] line = ControlProtocol.line(ControlProtocol.encode(request));
            assertEquals('\n', line[line.length - 1]);
            byte[] withoutNewline = java.util.Arrays.copyOf(line, line.length - 1);
            assertEquals(request, ControlProtocol.decode(withoutNewline), "seed " + seed);
        }
    }

    private static ControlRequest randomRequest(Random r) {
        String volume = randomName(r);
        String member = r.nextBoolean() ? Integer.toString(r.nextInt(16)) : "/dev/" + randomName(r);
        return switch (r.nextInt(9)) {
            case 0 -> new ControlRequest.Status(r.nextBoolean() ? null : volume);
            case 1 -> new ControlRequest.Fail(volume, member);
            case 2 -> new ControlRequest.Remove(volume, member);
            case 3 -> new ControlRequest.Add(volume, "/x/" + randomName(r));
            case 4 -> new ControlRequest.Replace(volume, member, "/y/" + randomName(r));
            case 5 -> {
                Long max = r.nextBoolean() ? null : r.nextBoolean() ? Long.MAX_VALUE : 1 + r.nextInt(1 << 30);
                Long min = max != null && r.nextBoolean() ? null : (Long) (long) (1 + r.nextInt(1 << 20));
                if (min != null && max != null && min > max) {
                    min = max;
                }
                yield new ControlRequest.RebuildLimits(volume, min, max);
            }
            case 6 -> new ControlRequest.Wait(volume, 100 + r.nextInt(59_901));
            case 7 -> new ControlRequest.Monitor();
            default -> {
                String kind = ControlProtocol.FAULT_KINDS.get(r.nextInt(ControlProtocol.FAULT_KINDS.size()));
                FaultSpec spec = switch (kind) {
                    case "eio-read", "eio-write" ->
                        r.nextBoolean()
                                ? new FaultSpec(kind, 0, 0, 0, 0)
                                : new FaultSpec(kind, r.nextInt(1 << 20) * 512L, 1 + r.nextInt(1 << 20), 0, 0);
                    case "slow" -> new FaultSpec(kind, 0, 0, 1 + r.nextInt(10_000), 0);
                    case "flip-bits" -> new FaultSpec(kind, 0, 0, 0, 1 + r.nextInt(1000));
                    default -> new FaultSpec(kind, 0, 0, 0, 0);
                };
                yield new ControlRequest.Inject(volume, member, spec);
            }
        };
    }

    /** Names with what JSON must escape or carry as UTF-8: quotes, backslashes, non-ASCII. */
    private static String randomName(Random r) {
        String alphabet = "abcXYZ019-_. \"\\/éü漢🙂";
        StringBuilder s = new StringBuilder();
        int n = 1 + r.nextInt(20);
        while (s.length() < n) {
            int cp = alphabet.codePointAt(
                    alphabet.offsetByCodePoints(0, r.nextInt(alphabet.codePointCount(0, alphabet.length()))));
            s.appendCodePoint(cp);
        }
        return s.toString();
    }

    @Test
    void volumeStatusTravelsFieldForField() throws ControlException {
        VolumeStatus v = new VolumeStatus(
                "vol0",
                "uuid",
                6,
                "left-symmetric",
                524288,
                4L << 30,
                "rebuilding",
                true,
                List.of(
                        new MemberStatus(0, "/d/d0.img", "active", null, -1, 1, 2, 3, 4, null, 5),
                        new MemberStatus(1, "/d/n1.img", "rebuilding", "/d/d1.img", 1 << 20, 0, 0, 0, 0, null),
                        new MemberStatus(-1, "(missing)", "missing", null, -1, 0, 0, 0, 0, "not found at assembly")),
                new SyncStatus("replace", 1 << 20, 1 << 30, 350 << 20, 5, 1),
                10 << 20,
                Long.MAX_VALUE,
                List.of("0+4096"),
                VolumeStatus.IoCounters.NONE,
                new VolumeStatus.Integrity(true, 64 << 20, 8192, 2, 0));
        JsonNode json = ControlProtocol.volume(v);
        assertEquals(
                List.of(
                        "name",
                        "uuid",
                        "level",
                        "layout",
                        "chunkBytes",
                        "sizeBytes",
                        "state",
                        "dirty",
                        "members",
                        "sync",
                        "rebuildMinBytesPerSecond",
                        "rebuildMaxBytesPerSecond",
                        "lostRanges",
                        "io",
                        "integrity"),
                names(json));
        assertEquals(
                List.of(
                        "slot",
                        "path",
                        "state",
                        "replacing",
                        "recoveredBytes",
                        "readErrors",
                        "writeErrors",
                        "timeouts",
                        "correctedReads",
                        "reason",
                        "checksumErrors"),
                names(json.get("members").get(0)));
        assertEquals(
                List.of("verifyReads", "tagCacheBytes", "tagCacheHeldBytes", "tagLoads", "tagEvictions"),
                names(json.get("integrity")));
        assertEquals(
                List.of("action", "doneBytes", "totalBytes", "bytesPerSecond", "etaSeconds", "pending"),
                names(json.get("sync")));
        assertTrue(json.get("members").get(0).get("replacing").isNull(), "null fields are present, as null");
        assertEquals(v, ControlProtocol.volume(json));
        // A newer raidd may add fields; this version ignores them.
        ((com.fasterxml.jackson.databind.node.ObjectNode) json).put("futureField", 1);
        assertEquals(v, ControlProtocol.volume(json));
    }

    @Test
    void repliesHaveTheirDocumentedShape() throws ControlException {
        assertEquals("{\"ok\":true,\"message\":\"done\"}", text(ControlProtocol.ok("done")));
        assertEquals("{\"ok\":false,\"error\":\"two lines\"}", text(ControlProtocol.error("two lines\nhere")));
        assertEquals("{\"subscribed\":true}", text(ControlProtocol.subscribed()));
        assertEquals("{\"dropped\":3}", text(ControlProtocol.dropped(3)));
        ArrayEvent e = new ArrayEvent(EventType.Fail, "vol0", "/d/d1.img", "write error at 4096", 1_700_000_000_123L);
        assertEquals(
                "{\"event\":{\"type\":\"Fail\",\"array\":\"vol0\",\"member\":\"/d/d1.img\",\"detail\":\"write error at"
                        + " 4096\",\"time\":\"2023-11-14T22:13:20.123Z\"}}",
                text(ControlProtocol.event(e)));
        VolumeStatus v = new FakeControlService().status("vol0").get(0);
        JsonNode waited = ControlProtocol.parseReply(java.util.Arrays.copyOf(
                ControlProtocol.line(ControlProtocol.waited(v)),
                ControlProtocol.line(ControlProtocol.waited(v)).length - 1));
        assertTrue(waited.get("ok").asBoolean());
        assertTrue(waited.get("healthy").asBoolean());
        assertEquals(v, ControlProtocol.volume(waited.get("volume")));
        assertFalse(ControlProtocol.waited(FakeControlService.volume("x", 5, "degraded", FakeControlService.idle()))
                .get("healthy")
                .asBoolean());
    }

    private static String text(JsonNode n) {
        byte[] line = ControlProtocol.line(n);
        return new String(line, 0, line.length - 1, StandardCharsets.UTF_8);
    }

    private static List<String> names(JsonNode n) {
        List<String> names = new ArrayList<>();
        for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
            names.add(it.next());
        }
        return names;
    }
}
