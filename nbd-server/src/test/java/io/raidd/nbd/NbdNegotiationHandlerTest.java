package io.raidd.nbd;

import static io.raidd.nbd.OptionDescriptor.*;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(LeakCheck.class)
class NbdNegotiationHandlerTest {
    @Test
    void greetingThenListWorks() {
        try (EmbeddedNbd nbd = new EmbeddedNbd()) {
            nbd.handshake();
            var replies = nbd.option(OPT_LIST, new byte[0]);
            assertEquals(3, replies.size(), replies::toString);
        }
    }
}
