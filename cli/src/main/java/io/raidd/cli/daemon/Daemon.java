package io.raidd.cli.daemon;

import io.raidd.blockdev.BlockDevice;
import io.raidd.blockdev.BlockDevices;
import io.raidd.nbd.NbdExport;
import io.raidd.nbd.NbdServer;
import io.raidd.nbd.NbdServerConfig;
import io.raidd.raid.agent.RateLimits;
import io.raidd.raid.agent.VolumeAgents;
import io.raidd.raid.md.AssembledArray;
import io.raidd.raid.md.Assembler;
import io.raidd.raid.md.NamedDevice;
import io.raidd.raid.meta.SuperblockUpdater;
import io.raidd.raid.parity.ParityKernels;
import io.raidd.raid.volume.RaidVolume;
import io.raidd.raid.volume.RaidVolumeConfig;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The running daemon: the arrays assembled from the configured members, one NBD export per array,
 * and background resyncs. Closing it stops accepting, lets in-flight requests finish, flushes the
 * members and marks the arrays clean.
 */
public final class Daemon implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger("io.raidd.daemon");

    private final List<RaidVolume> volumes = new ArrayList<>();
    private final List<VolumeAgents> agents = new ArrayList<>();
    private final List<BlockDevice> unusedDevices = new ArrayList<>();
    private final List<String> uris = new ArrayList<>();
    private NbdServer server;

    private Daemon() {}

    /** Opens a member path as a device; tests wrap the real device to inject faults. */
    @FunctionalInterface
    public interface DeviceOpener {
        BlockDevice open(Path path) throws IOException;
    }

    public static Daemon start(DaemonConfig config) throws IOException {
        return start(config, path -> BlockDevices.open(path, false));
    }

    public static Daemon start(DaemonConfig config, DeviceOpener opener) throws IOException {
        Daemon daemon = new Daemon();
        try {
            daemon.startUp(config, opener);
            return daemon;
        } catch (IOException | RuntimeException e) {
            daemon.close();
            throw e;
        }
    }

    /** Rounds of {@link ParityKernels#warmUp}: enough for C2 to compile every operation (~1 s). */
    private static final int PARITY_WARM_UP_ROUNDS = 500;

    /** How long serving waits for the parity warm-up; it takes about a second on two busy cores. */
    private static final Duration PARITY_WARM_UP_WAIT = Duration.ofSeconds(5);

    /**
     * Gets the parity kernels compiled in the background while arrays assemble, instead of during
     * the first seconds of writes (measured: the first 20 MiB of RAID-5 parity at 0.1-2 GB/s, then
     * 15; one 8 s benchmark run in three spent 21-35 % of its CPU in P code C2 had not compiled yet).
     */
    private static Thread startParityWarmUp() {
        Thread t = new Thread(
                () -> {
                    long start = System.nanoTime();
                    ParityKernels.warmUp(ParityKernels.best(), PARITY_WARM_UP_ROUNDS);
                    LOG.log(Level.DEBUG, "parity kernel warmed up in {0} ms", (System.nanoTime() - start) / 1_000_000);
                },
                "raidd-parity-warm-up");
        t.setDaemon(true);
        t.setPriority(Thread.MIN_PRIORITY);
        t.start();
        return t;
    }

    /** Serving starts once the warm-up is done, or after {@link #PARITY_WARM_UP_WAIT} whatever it has reached. */
    private static void awaitParityWarmUp(Thread warmUp) {
        try {
            warmUp.join(PARITY_WARM_UP_WAIT.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        if (warmUp.isAlive()) {
            LOG.log(
                    Level.INFO,
                    "serving before the parity warm-up finished (still running after {0} s)",
                    PARITY_WARM_UP_WAIT.toSeconds());
        }
    }

    private void startUp(DaemonConfig config, DeviceOpener opener) throws IOException {
        LOG.log(Level.INFO, "parity kernel: {0}", ParityKernels.selectionReason());
        Thread warmUp = startParityWarmUp();
        List<Path> paths = new ArrayList<>(config.members());
        if (config.demoDirectory() != null) {
            paths.addAll(Demo.prepare(config.demoDirectory()));
        }
        List<NamedDevice> devices = new ArrayList<>();
        Set<Path> seen = new HashSet<>();
        for (Path p : paths) {
            Path real = p.toAbsolutePath().normalize();
            if (!seen.add(real)) {
                throw new IllegalArgumentException("member " + p + " is given twice");
            }
            try {
                devices.add(new NamedDevice(p.toString(), opener.open(p)));
            } catch (IOException e) {
                for (NamedDevice d : devices) {
                    d.device().close();
                }
                throw new IOException("cannot open member " + p + ": " + IoErrors.reason(e), e);
            }
        }
        Assembler.Scan scan;
        try {
            scan = Assembler.scan(devices, config.force());
        } catch (IOException e) {
            for (NamedDevice d : devices) {
                d.device().close();
            }
            throw e;
        }
        Set<BlockDevice> used = new HashSet<>();
        for (AssembledArray.Rejection r : scan.unusable()) {
            LOG.log(Level.WARNING, "not using {0}", r);
        }
        RaidVolumeConfig volumeConfig = RaidVolumeConfig.DEFAULT
                .withMemberTimeout(config.memberTimeout())
                .withSafeModeDelay(config.safeModeDelay());
        Set<String> names = new HashSet<>();
        NbdServerConfig.Builder serverConfig = NbdServerConfig.builder();
        for (AssembledArray array : scan.arrays()) {
            if (!names.add(array.name())) {
                throw new IllegalArgumentException(
                        "two arrays are named '" + array.name() + "'; export names must be unique");
            }
            LOG.log(Level.INFO, "assembled {0}", array.describe());
            RaidVolume volume = open(array, volumeConfig, used);
            volumes.add(volume);
            NbdExport.Builder export = NbdExport.builder(array.name(), volume)
                    .description("raidd " + array.geometry() + (array.degraded() ? ", degraded" : ""))
                    .fastZero(true)
                    // Holes stay visible through BLOCK_STATUS; probing them on every read costs a
                    // seek per member per chunk, and on tmpfs a walk to the next hole.
                    .sparseReads(false);
            int stripeBytes = volume.optimalWriteBytes();
            if (Integer.bitCount(stripeBytes) == 1) {
                // NBD's preferred block size is the smallest aligned request that avoids
                // read-modify-write: a RAID-5/6 full stripe (md's optimal_io_size). It must be a
                // power of two, so stripes of 3, 5, ... data chunks keep the default.
                export.preferredBlockSizeBytes(stripeBytes);
            }
            serverConfig.export(export.build());
            agents.add(VolumeAgents.start(volume, RateLimits.DEFAULT));
        }
        for (NamedDevice d : devices) {
            if (!used.contains(d.device())) {
                unusedDevices.add(d.device());
            }
        }
        if (volumes.isEmpty()) {
            throw new IOException("no array to serve among the given members: " + scan.unusable());
        }
        for (DaemonConfig.HostPort hp : config.listen()) {
            serverConfig.listenTcp(hp.host(), hp.port());
        }
        if (config.unixSocket() != null) {
            serverConfig.listenUnix(config.unixSocket());
        }
        serverConfig.tlsMode(config.tls());
        if (config.tlsCertificate() != null) {
            serverConfig.tlsCertificate(config.tlsCertificate(), config.tlsKey());
        }
        if (volumes.size() == 1) {
            serverConfig.defaultExport(volumes.get(0).name());
        }
        awaitParityWarmUp(warmUp);
        server = new NbdServer(serverConfig.build());
        List<SocketAddress> bound = server.start();
        for (SocketAddress address : bound) {
            for (RaidVolume v : volumes) {
                uris.add(uri(address, v.name()));
            }
        }
        for (String uri : uris) {
            LOG.log(Level.INFO, "serving {0}", uri);
        }
        for (SocketAddress address : bound) {
            if (address instanceof InetSocketAddress inet) {
                for (RaidVolume v : volumes) {
                    LOG.log(
                            Level.INFO,
                            "connect with: nbdinfo {0}   or, as root on Linux: nbd-client {1} {2} /dev/nbd0 -N {3}",
                            uri(inet, v.name()),
                            inet.getAddress().getHostAddress(),
                            String.valueOf(inet.getPort()),
                            v.name());
                }
                break;
            }
        }
    }

    private static RaidVolume open(AssembledArray array, RaidVolumeConfig config, Set<BlockDevice> used) {
        RaidVolume.Builder b = RaidVolume.builder(array.name(), array.geometry())
                .config(config)
                .metadata(new SuperblockUpdater(array))
                .clean(array.clean());
        for (int slot = 0; slot < array.slots().size(); slot++) {
            Optional<AssembledArray.Member> m = array.slots().get(slot);
            if (m.isPresent()) {
                b.member(
                        slot,
                        m.get().device().name(),
                        m.get().device().device(),
                        m.get().dataOffsetBytes());
                used.add(m.get().device().device());
            }
        }
        return b.build();
    }

    static String uri(SocketAddress address, String export) {
        if (address instanceof InetSocketAddress inet) {
            String host = inet.getAddress().getHostAddress();
            if (host.contains(":")) {
                host = "[" + host + "]";
            }
            return "nbd://" + host + ":" + inet.getPort() + "/" + export;
        }
        if (address instanceof UnixDomainSocketAddress unix) {
            return "nbd+unix:///" + export + "?socket=" + unix.getPath();
        }
        return address + "/" + export;
    }

    /** One URI per export and listener, in the form nbdinfo and qemu accept. */
    public List<String> uris() {
        return List.copyOf(uris);
    }

    public List<RaidVolume> volumes() {
        return List.copyOf(volumes);
    }

    @Override
    public void close() throws IOException {
        if (server != null) {
            server.close();
        }
        for (VolumeAgents a : agents) {
            a.close();
        }
        IOException first = null;
        for (RaidVolume v : volumes) {
            try {
                v.close();
                LOG.log(
                        Level.INFO,
                        "array {0} stopped{1}",
                        v.name(),
                        v.isDirty() ? " (left dirty: resync incomplete)" : " clean");
            } catch (IOException e) {
                LOG.log(Level.ERROR, "array {0}: close failed: {1}", v.name(), e.getMessage());
                first = first == null ? e : first;
            }
        }
        for (BlockDevice d : unusedDevices) {
            d.close();
        }
        if (first != null) {
            throw first;
        }
    }
}
