package io.raidd.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.raidd.cli.control.VolumeStatus;
import io.raidd.cli.control.VolumeStatus.MemberStatus;
import io.raidd.cli.control.VolumeStatus.SyncStatus;
import java.util.List;
import org.junit.jupiter.api.Test;

class StatusFormatTest {
    static final long GIB = 1L << 30;

    static VolumeStatus replacing() {
        return new VolumeStatus(
                "vol0",
                "a1b2c3d4:e5f60718:293a4b5c:6d7e8f90",
                6,
                "left-symmetric",
                512 * 1024,
                4 * GIB,
                "degraded",
                true,
                List.of(
                        new MemberStatus(0, "/d/d0.img", "active", null, -1, 0, 0, 0, 0, null),
                        new MemberStatus(1, "/d/d1.img", "active", null, -1, 3, 0, 0, 5, null, 2),
                        new MemberStatus(2, "/d/d2.img", "faulty", null, -1, 0, 2, 1, 0, "write error at 8192"),
                        new MemberStatus(3, "/d/d3.img", "active", null, -1, 0, 0, 0, 0, null),
                        new MemberStatus(3, "/d/n3.img", "rebuilding", "/d/d3.img", 862 * (1L << 20), 0, 0, 0, 0, null),
                        new MemberStatus(-1, "/d/spare.img", "spare", null, -1, 0, 0, 0, 0, null)),
                new SyncStatus("replace", 1288490189L, 3006477107L, 367106252L, 5, 1),
                10L << 20,
                Long.MAX_VALUE,
                List.of("1048576+65536"),
                new VolumeStatus.IoCounters(120, 45, 3L << 30, 5L << 20),
                new VolumeStatus.Integrity(true, 64L << 20, 12288, 3, 0));
    }

    @Test
    void rendersLikeMdadmDetail() {
        assertEquals(
                String.join(
                        "\n",
                        "vol0",
                        "          UUID : a1b2c3d4:e5f60718:293a4b5c:6d7e8f90",
                        "         Level : raid6",
                        "        Layout : left-symmetric",
                        "    Chunk Size : 512.00 KiB",
                        "          Size : 4.00 GiB (4294967296 bytes)",
                        "         State : degraded, dirty",
                        "          Sync : replace 42.8% 1.20 GiB/2.80 GiB at 350.1 MiB/s, ETA 0:00:05 (1 more queued)",
                        "  Rebuild Rate : min 10.0 MiB/s, max unlimited",
                        "           I/O : 120 reads (3.00 GiB), 45 writes (5.00 MiB)",
                        "     Integrity : reads verified; tags in memory 12.00 KiB of 64.00 MiB (3 loads, 0 evictions)",
                        "",
                        "  Slot  State        Read Err  Write Err  Timeouts  Corrected  Checksum  Path",
                        "     0  active              0          0         0          0         0  /d/d0.img",
                        "     1  active              3          0         0          5         2  /d/d1.img",
                        "     2  faulty              0          2         1          0         0  /d/d2.img  (write error"
                                + " at 8192)",
                        "     3  active              0          0         0          0         0  /d/d3.img",
                        "     3  rebuilding          0          0         0          0         0  /d/n3.img  replacing"
                                + " /d/d3.img, recovered 42.0%",
                        "     -  spare               0          0         0          0         0  /d/spare.img",
                        "",
                        "  Lost ranges (data that could not be reconstructed; reads there fail):",
                        "    1048576+65536",
                        ""),
                StatusFormat.render(List.of(replacing())));
    }

    @Test
    void idleVolumesAndNoVolumes() {
        assertEquals("no volumes\n", StatusFormat.render(List.of()));
        assertEquals("idle", StatusFormat.syncLine(new SyncStatus("idle", 0, 0, 0, -1, 0)));
        assertEquals("idle, 2 queued", StatusFormat.syncLine(new SyncStatus("idle", 0, 0, 0, -1, 2)));
        assertEquals(
                "resync 99.9% 1024.00 MiB/1.00 GiB at 0 B/s, ETA ?",
                StatusFormat.syncLine(new SyncStatus("resync", GIB - 4096, GIB, 0, -1, 0)));
    }

    @Test
    void memberDataSizeFollowsTheLevel() {
        VolumeStatus v = replacing();
        assertEquals(2 * GIB, StatusFormat.memberDataBytes(v), "RAID-6 of 4 slots: size / 2");
        VolumeStatus raid10 = new VolumeStatus(
                "r10",
                "u",
                10,
                "near=2",
                4096,
                3 * GIB,
                "clean",
                false,
                List.of(
                        new MemberStatus(0, "a", "active", null, -1, 0, 0, 0, 0, null),
                        new MemberStatus(1, "b", "active", null, -1, 0, 0, 0, 0, null),
                        new MemberStatus(2, "c", "active", null, -1, 0, 0, 0, 0, null)),
                new SyncStatus("idle", 0, 0, 0, -1, 0),
                1,
                1,
                List.of(),
                VolumeStatus.IoCounters.NONE);
        assertEquals(2 * GIB, StatusFormat.memberDataBytes(raid10), "near=2 over 3 members");
    }

    @Test
    void ratesAndEtas() {
        assertEquals("unlimited", StatusFormat.rate(Long.MAX_VALUE));
        assertEquals("512 B/s", StatusFormat.rate(512));
        assertEquals("50.0 MiB/s", StatusFormat.rate(50L << 20));
        assertEquals("1:01:01", StatusFormat.eta(3661));
        assertEquals("?", StatusFormat.eta(-1));
        assertEquals("100.0%", StatusFormat.percent(10, 10));
    }
}
