package io.raidd.cli.control;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.raidd.cli.daemon.DaemonConfig;
import io.raidd.scrubber.Finding;
import io.raidd.scrubber.ScrubStatus;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The {@code scrub} request and its reply on the wire, and {@code --scrub-every}'s durations. */
class ScrubProtocolTest {

    private static ControlRequest decode(String line) throws ControlException {
        return ControlProtocol.decode(line.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void requestsRoundTrip() throws ControlException {
        for (ControlRequest.Scrub r : List.of(
                new ControlRequest.Scrub("v", "start", true),
                new ControlRequest.Scrub("v", "start", false),
                new ControlRequest.Scrub("v", "pause", true),
                new ControlRequest.Scrub("v", "resume", true),
                new ControlRequest.Scrub("v", "status", true))) {
            assertEquals(r, ControlProtocol.decode(ControlProtocol.line(ControlProtocol.encode(r))));
        }
        assertEquals(
                new ControlRequest.Scrub("v", "start", true),
                decode("{\"version\":1,\"command\":\"scrub\",\"volume\":\"v\",\"action\":\"start\"}"));
    }

    @Test
    void refusesWhatItCannotDo() {
        assertTrue(assertThrows(
                        ControlException.class,
                        () -> decode("{\"version\":1,\"command\":\"scrub\",\"volume\":\"v\",\"action\":\"scrape\"}"))
                .getMessage()
                .contains("start, pause, resume, status"));
        assertThrows(
                ControlException.class,
                () -> decode(
                        "{\"version\":1,\"command\":\"scrub\",\"volume\":\"v\",\"action\":\"pause\",\"mode\":\"check\"}"));
        assertThrows(
                ControlException.class,
                () -> decode(
                        "{\"version\":1,\"command\":\"scrub\",\"volume\":\"v\",\"action\":\"start\",\"mode\":\"fix\"}"));
        assertThrows(
                ControlException.class, () -> decode("{\"version\":1,\"command\":\"scrub\",\"action\":\"start\"}"));
    }

    @Test
    void statusCarriesEveryFindingField() {
        Finding f = new Finding(
                "/d/m1.img", 1, 65536, 16384, 4096, Finding.Kind.DATA, Finding.Cause.TAG_MISMATCH, true, false, "");
        Finding p = new Finding(
                "/d/m2.img", 2, -1, 0, 4096, Finding.Kind.P, Finding.Cause.PARITY_MISMATCH, false, true, "why");
        ScrubStatus s = new ScrubStatus(
                "v",
                "finished",
                "repair",
                100,
                100,
                50,
                -1,
                1000,
                3000,
                2,
                1,
                1,
                List.of(new ScrubStatus.MemberCounts("/d/m1.img", 1, 1, 1, 0)),
                List.of(f, p),
                List.of(),
                0,
                null);
        JsonNode o = ControlProtocol.scrub("done", s);
        JsonNode st = o.path("scrub");
        assertEquals("finished", st.path("state").asText());
        for (String field : List.of("doneBytes", "totalBytes", "found", "repaired")) {
            assertTrue(st.has(field), field);
        }
        JsonNode a = st.path("findings").get(0);
        assertEquals("/d/m1.img", a.path("member").asText());
        assertEquals(65536, a.path("volumeOffset").asLong());
        assertEquals(16384, a.path("memberOffset").asLong());
        assertEquals("data", a.path("kind").asText());
        assertEquals("tag mismatch", a.path("cause").asText());
        assertTrue(a.path("repaired").asBoolean());
        JsonNode b = st.path("findings").get(1);
        assertTrue(b.path("volumeOffset").isNull());
        assertEquals("P", b.path("kind").asText());
        assertTrue(b.path("unresolved").asBoolean());
        assertEquals("1970-01-01T00:00:03Z", st.path("ended").asText());
    }

    @Test
    void scrubEveryTakesDaysAndHours() {
        assertEquals(Duration.ofDays(7), DaemonConfig.parseDuration("7d"));
        assertEquals(Duration.ofHours(12), DaemonConfig.parseDuration("12h"));
    }
}
