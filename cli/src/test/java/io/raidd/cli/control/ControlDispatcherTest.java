package io.raidd.cli.control;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.raidd.cli.control.ControlService.FaultSpec;
import io.raidd.cli.control.VolumeStatus.SyncStatus;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Each command against the fake service, without a socket. */
class ControlDispatcherTest {
    private final FakeControlService fake = new FakeControlService();
    private final ControlDispatcher dispatcher = new ControlDispatcher(fake);

    private ObjectNode run(ControlRequest r) {
        return dispatcher.execute(r, "user test");
    }

    private static void assertRefused(String expected, ObjectNode reply) {
        assertFalse(reply.get("ok").asBoolean(), reply.toString());
        assertEquals(expected, reply.get("error").asText());
    }

    @Test
    void statusOfAllOrOneVolume() throws ControlException {
        JsonNode all = run(new ControlRequest.Status(null));
        assertTrue(all.get("ok").asBoolean());
        assertEquals(2, all.get("volumes").size());
        assertEquals("vol0", all.get("volumes").get(0).get("name").asText());
        JsonNode one = run(new ControlRequest.Status("vol1"));
        assertEquals(1, one.get("volumes").size());
        assertEquals(
                fake.status("vol1").get(0),
                ControlProtocol.volume(one.get("volumes").get(0)));
        assertRefused("no volume 'nope' (volumes: vol0, vol1)", run(new ControlRequest.Status("nope")));
    }

    @Test
    void changingCommandsAnswerWithTheServiceMessage() {
        assertEquals(
                "{\"ok\":true,\"message\":\"vol0: /d/d1.img marked faulty\"}",
                run(new ControlRequest.Fail("vol0", "1")).toString());
        assertEquals(
                "vol0: removed /d/d1.img",
                run(new ControlRequest.Remove("vol0", "/d/d1.img"))
                        .get("message")
                        .asText());
        assertEquals(
                "vol0: added /d/new.img as a spare",
                run(new ControlRequest.Add("vol0", "/d/new.img")).get("message").asText());
        assertEquals(
                "vol0: replacing /d/d2.img with /d/n2.img",
                run(new ControlRequest.Replace("vol0", "2", "/d/n2.img"))
                        .get("message")
                        .asText());
        assertEquals(
                "vol0: rebuild rate min 10485760 max 52428800 B/s",
                run(new ControlRequest.RebuildLimits("vol0", null, 50L << 20))
                        .get("message")
                        .asText());
        fake.allowInjection(true);
        assertEquals(
                "vol1: hang injected into /d/m0.img",
                run(new ControlRequest.Inject("vol1", "0", new FaultSpec("hang", 0, 0, 0, 0)))
                        .get("message")
                        .asText());
        assertEquals(6, fake.changes().size(), fake.changes().toString());
    }

    @Test
    void refusalsChangeNothing() {
        assertRefused("no volume 'nope' (volumes: vol0, vol1)", run(new ControlRequest.Fail("nope", "1")));
        assertRefused("vol0 has no member '9'", run(new ControlRequest.Fail("vol0", "9")));
        assertRefused(
                "vol0: /d/d0.img is active and holds data; fail it first", run(new ControlRequest.Remove("vol0", "0")));
        assertRefused(
                "fault injection is off (start raidd with --allow-fault-injection)",
                run(new ControlRequest.Inject("vol0", "0", new FaultSpec("fail", 0, 0, 0, 0))));
        assertEquals(List.of(), fake.changes());
    }

    @Test
    void aServiceBugIsAnInternalErrorNotACrash() {
        ControlDispatcher broken = new ControlDispatcher(new FakeControlService() {
            @Override
            public synchronized String fail(String volume, String member) {
                throw new IllegalStateException("boom");
            }
        });
        ObjectNode reply = broken.execute(new ControlRequest.Fail("vol0", "1"), "user test");
        assertFalse(reply.get("ok").asBoolean());
        assertEquals(
                "internal error in raidd (IllegalStateException: boom); see raidd's log",
                reply.get("error").asText());
    }

    @Test
    void waitReportsProgressThenTheEnd() throws Exception {
        VolumeStatus base = fake.status("vol0").get(0);
        VolumeStatus half = FakeControlService.volume(
                "vol0",
                6,
                "rebuilding",
                new SyncStatus("rebuild", 50, 100, 10, 5, 0),
                base.members().toArray(VolumeStatus.MemberStatus[]::new));
        fake.awaitScript(List.of(half, base));
        List<VolumeStatus> progress = new ArrayList<>();
        ObjectNode end = dispatcher.await(new ControlRequest.Wait("vol0", 1000), "user test", progress::add);
        assertEquals(List.of(half), progress);
        assertTrue(end.get("ok").asBoolean());
        assertTrue(end.get("healthy").asBoolean());
        assertEquals(base, ControlProtocol.volume(end.get("volume")));
        assertRefused(
                "no volume 'nope' (volumes: vol0, vol1)",
                dispatcher.await(new ControlRequest.Wait("nope", 1000), "user test", progress::add));
    }
}
