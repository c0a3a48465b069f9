package io.raidd.raid.layout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@link MirrorLayout#locate} inverts {@link MirrorLayout#disk} and {@link MirrorLayout#memberChunk}
 * for every copy of every chunk, and finds nothing where no copy lives: exhaustive over small
 * arrays of every supported mirror layout.
 */
class MirrorLayoutLocateTest {

    static List<Geometry> geometries() {
        List<Geometry> out = new ArrayList<>();
        long member = 40L * 4096 + 512;
        for (int n = 2; n <= 5; n++) {
            out.add(Geometry.of(0, 1, 4096, n, member));
            out.add(Geometry.of(1, 0, 4096, n, member));
            for (String layout : new String[] {"n2", "f2", "o2", "n3", "f3", "o3"}) {
                int code = Geometry.parseLayout(10, layout);
                if (Geometry.problem(10, code, 4096, n, member) == null) {
                    out.add(Geometry.of(10, code, 4096, n, member));
                }
            }
        }
        return out;
    }

    @Test
    void locateInvertsEveryCopyAndOnlyThose() {
        int checked = 0;
        for (Geometry g : geometries()) {
            MirrorLayout layout = g.mirrorLayout();
            long chunks = g.volumeSizeBytes() / g.chunkBytes();
            long memberChunks = g.memberUsedBytes() / g.chunkBytes();
            Map<String, Long> expected = new HashMap<>();
            for (long c = 0; c < chunks; c++) {
                for (int j = 0; j < layout.copies(); j++) {
                    String key = layout.disk(c, j) + "@" + layout.memberChunk(c, j);
                    Long before = expected.put(key, c * layout.copies() + j);
                    assertEquals(null, before, g + ": two copies at " + key);
                }
            }
            for (int d = 0; d < g.raidDisks(); d++) {
                for (long m = 0; m < memberChunks + 2; m++) {
                    long found = layout.locate(d, m, chunks);
                    assertEquals(expected.getOrDefault(d + "@" + m, -1L), found, g + " disk " + d + " chunk " + m);
                    checked++;
                }
            }
        }
        assertTrue(checked > 1000, "checked " + checked);
    }
}
