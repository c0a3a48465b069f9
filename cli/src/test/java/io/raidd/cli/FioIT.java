package io.raidd.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raidd.blockdev.FaultInjectingBlockDevice;
import io.raidd.blockdev.FileBlockDevice;
import io.raidd.cli.daemon.Daemon;
import io.raidd.cli.daemon.DaemonConfig;
import io.raidd.raid.md.Superblock;
import io.raidd.raid.md.SuperblockDescriptor;
import io.raidd.raid.member.MemberState;
import io.raidd.raid.volume.RaidVolume;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * fio's nbd engine writes random (or sequential) blocks with crc32c verification headers, each job in its own
 * region (so the verification is sound with several connections), then reads everything back and
 * verifies it. Against RAID-5 and RAID-6, healthy and with members failing (fail-stop) in the
 * middle of the write phase: fio must see no error at all, the failed members end FAULTY and the
 * survivors' superblocks say so; after a restart on all the original members the stale ones are
 * left out and fio's verify-only pass still reads back every block.
 */
class FioIT {
    private static final Duration FIO_TIMEOUT = Duration.ofMinutes(3);
    private static final int JOBS = 4;
    private static final long JOB_BYTES = 64L << 20;
    private static final long PLANNED_BYTES = JOBS * JOB_BYTES;

    /**
     * Random writes, and sequential ones, which the server joins into runs that fill whole stripes
     * (RAID-5 here: 3 × 64K = 192K; RAID-6: 4 × 64K = 256K): 128K requests are two-thirds or half
     * of a stripe, 4K requests make runs of dozens of buffers.
     */
    @ParameterizedTest(name = "RAID-{0} {3} bs {1} failing {2}")
    @CsvSource({
        "5, 4k, 0, randwrite", "5, 1M, 0, randwrite", "6, 4k, 0, randwrite", "6, 1M, 0, randwrite",
        "5, 4k, 1, randwrite", "5, 1M, 1, randwrite", "6, 4k, 2, randwrite", "6, 1M, 2, randwrite",
        "5, 128k, 1, write", "6, 128k, 2, write", "5, 4k, 1, write"
    })
    void writesVerify(int level, String blockSize, int failing, String rw) throws Exception {
        String fio = Tools.require("fio", "fio");
        int memberCount = level == 5 ? 4 : 6;
        try (Scratch scratch = new Scratch("raidd-fio-")) {
            List<Path> members = scratch.members("m", memberCount);
            Scratch.create(level, "64K", "128M", "fio", members);
            // Slots to fail: the second, and for RAID-6 also the fifth (a P/Q/data mix varies per stripe).
            List<Integer> failSlots = failing == 0 ? List.of() : failing == 1 ? List.of(1) : List.of(1, 4);
            List<Integer> failDevNumbers = new ArrayList<>();
            for (int slot : failSlots) {
                failDevNumbers.add(Scratch.superblock(members.get(slot)).devNumber());
            }
            Map<Path, FaultInjectingBlockDevice> wrapped = new ConcurrentHashMap<>();
            Daemon.DeviceOpener opener = p -> {
                FaultInjectingBlockDevice d = new FaultInjectingBlockDevice(FileBlockDevice.open(p, false));
                wrapped.put(p, d);
                return d;
            };
            Path job = scratch.resolve("verify.json");
            List<String> fioArgs = fioArgs(fio, rw, blockSize, job);
            try (Daemon daemon = Daemon.start(config(members), opener)) {
                RaidVolume volume = daemon.volumes().get(0);
                assertTrue(volume.sizeBytes() >= PLANNED_BYTES, "volume holds every job's region");
                CompletableFuture<Long> failedAt = CompletableFuture.supplyAsync(() -> {
                    if (failSlots.isEmpty()) {
                        return -1L;
                    }
                    Await.until(
                            () -> volume.bytesWritten() >= PLANNED_BYTES / 2,
                            FIO_TIMEOUT,
                            "half of the planned bytes written");
                    long at = volume.bytesWritten();
                    for (int slot : failSlots) {
                        wrapped.get(members.get(slot)).failStop();
                    }
                    return at;
                });
                List<String> cmd = new ArrayList<>(fioArgs);
                cmd.add("--uri=" + daemon.uris().get(0));
                Tools.Result r = Tools.run(FIO_TIMEOUT, cmd);
                String json = Files.exists(job) ? Files.readString(job) : "";
                assertEquals(0, r.exitCode(), r.command() + "\n" + r.stderr() + json);
                assertJobsClean(json, true);
                long at = failedAt.get(10, TimeUnit.SECONDS);
                if (!failSlots.isEmpty()) {
                    System.out.printf(
                            "RAID-%d %s bs %s: failed slots %s at %d of %d bytes written%n",
                            level, rw, blockSize, failSlots, at, PLANNED_BYTES);
                    assertTrue(at < PLANNED_BYTES, "the members failed before the writes finished");
                }
                assertEquals(failSlots.size(), volume.failedMembers(), volume.toString());
                for (int slot = 0; slot < memberCount; slot++) {
                    assertEquals(
                            failSlots.contains(slot) ? MemberState.FAULTY : MemberState.ACTIVE,
                            volume.members().get(slot).state(),
                            "slot " + slot);
                }
                assertTrue(volume.bytesWritten() >= PLANNED_BYTES, "every block went through the volume");
                if (rw.equals("write")) {
                    long requests = PLANNED_BYTES / Sizes.parse(blockSize);
                    System.out.printf(
                            "RAID-%d %s bs %s: %d requests reached the volume as %d writes%n",
                            level, rw, blockSize, requests, volume.writeOps());
                    assertTrue(volume.writeOps() < requests, "adjacent sequential writes were joined into runs");
                }
            }
            for (int slot = 0; slot < memberCount; slot++) {
                if (failSlots.contains(slot)) {
                    continue;
                }
                Superblock sb = Scratch.superblock(members.get(slot));
                assertTrue(sb.clean(), "survivor " + slot + " clean after close: " + sb);
                for (int dev : failDevNumbers) {
                    assertEquals(
                            SuperblockDescriptor.ROLE_FAULTY,
                            sb.devRole(dev),
                            "survivor " + slot + " marks device " + dev + " faulty: " + sb);
                }
            }
            if (!failSlots.isEmpty()) {
                verifyAfterRestart(fioArgs, members, failSlots, job);
            }
        }
    }

    /** Restarts on every original member: the stale ones stay out, and the data reads back. */
    private static void verifyAfterRestart(List<String> fioArgs, List<Path> members, List<Integer> failSlots, Path job)
            throws Exception {
        try (Daemon daemon = Daemon.start(config(members))) {
            RaidVolume volume = daemon.volumes().get(0);
            for (int slot = 0; slot < members.size(); slot++) {
                assertEquals(
                        failSlots.contains(slot) ? MemberState.MISSING : MemberState.ACTIVE,
                        volume.members().get(slot).state(),
                        "after restart, slot " + slot);
            }
            List<String> cmd = new ArrayList<>(fioArgs);
            cmd.add("--verify_only");
            cmd.add("--uri=" + daemon.uris().get(0));
            Tools.Result r = Tools.run(FIO_TIMEOUT, cmd);
            String json = Files.exists(job) ? Files.readString(job) : "";
            assertEquals(0, r.exitCode(), r.command() + "\n" + r.stderr() + json);
            assertJobsClean(json, false);
            assertEquals(0L, volume.bytesWritten(), "a verify-only pass writes nothing");
        }
    }

    private static DaemonConfig config(List<Path> members) {
        DaemonConfig.Builder b = new DaemonConfig.Builder();
        b.members.addAll(members);
        b.listen.add(new DaemonConfig.HostPort("127.0.0.1", 0));
        b.controlSocket = members.get(0).resolveSibling("raidd.sock");
        return b.build();
    }

    private static List<String> fioArgs(String fio, String rw, String blockSize, Path output) {
        return new ArrayList<>(List.of(
                fio,
                "--name=raidd",
                "--ioengine=nbd",
                "--rw=" + rw,
                "--bs=" + blockSize,
                "--iodepth=16",
                "--numjobs=" + JOBS,
                "--size=" + JOB_BYTES,
                "--offset_increment=" + JOB_BYTES,
                "--verify=crc32c",
                "--verify_fatal=1",
                // No local-*-verify.state files in the working directory.
                "--verify_state_save=0",
                "--randrepeat=1",
                "--output-format=json",
                "--output=" + output));
    }

    /**
     * Every job reports error 0 and read (verified) its whole region; a write pass also wrote it
     * (a verify-only pass reports the writes it skipped, so there the volume's counter is checked).
     */
    private static void assertJobsClean(String json, boolean wrote) {
        List<Long> errors = numbers(json, "\"error\"\\s*:\\s*(\\d+)");
        assertEquals(JOBS, errors.size(), "one error field per job\n" + json);
        for (long e : errors) {
            assertEquals(0L, e, "fio job error\n" + json);
        }
        List<Long> read = numbers(json, "\"read\"\\s*:\\s*\\{\\s*\"io_bytes\"\\s*:\\s*(\\d+)");
        List<Long> written = numbers(json, "\"write\"\\s*:\\s*\\{\\s*\"io_bytes\"\\s*:\\s*(\\d+)");
        assertEquals(JOBS, read.size(), json);
        for (int i = 0; i < JOBS; i++) {
            assertEquals(JOB_BYTES, read.get(i), "job " + i + " verified its whole region\n" + json);
            if (wrote) {
                assertEquals(JOB_BYTES, written.get(i), "job " + i + " wrote its whole region\n" + json);
            }
        }
        assertFalse(json.contains("verify failed"), json);
    }

    private static List<Long> numbers(String text, String regex) {
        List<Long> values = new ArrayList<>();
        Matcher m = Pattern.compile(regex).matcher(text);
        while (m.find()) {
            values.add(Long.parseLong(m.group(1)));
        }
        return values;
    }
}
