package io.raidd.cli.daemon;

import io.raidd.blockdev.BlockDevice;
import io.raidd.blockdev.BlockDevices;
import io.raidd.blockdev.FaultInjectingBlockDevice;
import io.raidd.cli.control.ControlServer;
import io.raidd.nbd.NbdExport;
import io.raidd.nbd.NbdServer;
import io.raidd.nbd.NbdServerConfig;
import io.raidd.raid.agent.VolumeAgents;
import io.raidd.raid.event.ArrayEvent;
import io.raidd.raid.event.EventType;
import io.raidd.raid.md.AssembledArray;
import io.raidd.raid.md.Assembler;
import io.raidd.raid.md.AssemblyException;
import io.raidd.raid.md.NamedDevice;
import io.raidd.raid.meta.ArrayOpener;
import io.raidd.raid.parity.ParityKernels;
import io.raidd.raid.volume.RaidVolume;
import io.raidd.raid.volume.RaidVolumeConfig;
import io.raidd.scrubber.Scrubber;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The running daemon: the arrays assembled from the configured members, one NBD export per array,
 * their background agents (resync, rebuild, safe mode), the event hub, and the control socket
 * raidctl talks to. Closing it stops the control socket and accepting, lets in-flight requests
 * finish, stops the agents, flushes the members and marks the arrays clean.
 */
public final class Daemon implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger("io.raidd.daemon");

    /** One array being served. */
    record Served(AssembledArray array, RaidVolume volume, VolumeAgents agents, Scrubber scrubber) {}

    private final DaemonConfig config;
    private final DeviceOpener opener;
    private final EventHub events;
    private final List<Served> served = new ArrayList<>();
    private final List<BlockDevice> unusedDevices = new ArrayList<>();
    private final List<String> uris = new ArrayList<>();
    /** The fault-injecting wrapper of every device raidd opened, when fault injection is allowed. */
    private final Map<BlockDevice, FaultInjectingBlockDevice> injectable = new IdentityHashMap<>();

    private NbdServer server;
    private ControlServer control;

    private Daemon(DaemonConfig config, DeviceOpener opener) {
        this.config = config;
        this.opener = opener;
        this.events = new EventHub(config.eventProgram());
    }

    /** Opens a member path as a device; tests wrap the real device to inject faults. */
    @FunctionalInterface
    public interface DeviceOpener {
        BlockDevice open(Path path) throws IOException;
    }

    public static Daemon start(DaemonConfig config) throws IOException {
        return start(config, path -> BlockDevices.open(path, false));
    }

    public static Daemon start(DaemonConfig config, DeviceOpener opener) throws IOException {
        Daemon daemon = new Daemon(config, opener);
        try {
            daemon.startUp();
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

    /** Opens a device as the daemon does (wrapped for fault injection when that is allowed). */
    BlockDevice open(Path path) throws IOException {
        BlockDevice device = opener.open(path);
        if (!config.allowFaultInjection()) {
            return device;
        }
        FaultInjectingBlockDevice wrapped = new FaultInjectingBlockDevice(device);
        synchronized (injectable) {
            injectable.put(wrapped, wrapped);
        }
        return wrapped;
    }

    /** The fault-injecting wrapper of a member's device, or null when injection is not allowed. */
    FaultInjectingBlockDevice injectable(BlockDevice device) {
        synchronized (injectable) {
            return injectable.get(device);
        }
    }

    DaemonConfig config() {
        return config;
    }

    EventHub events() {
        return events;
    }

    private void startUp() throws IOException {
        LOG.log(Level.INFO, "parity kernel: {0}", ParityKernels.selectionReason());
        Thread warmUp = startParityWarmUp();
        List<Path> paths = new ArrayList<>(config.members());
        if (config.demoDirectory() != null) {
            paths.addAll(Demo.prepare(config.demoDirectory()));
        }
        refuseSameFileTwice(paths);
        for (String warning : SparseSpace.warnings(paths)) {
            LOG.log(Level.WARNING, warning);
        }
        List<NamedDevice> devices = new ArrayList<>();
        for (Path p : paths) {
            try {
                devices.add(new NamedDevice(p.toString(), open(p)));
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
        } catch (IOException | RuntimeException e) {
            for (NamedDevice d : devices) {
                d.device().close();
            }
            throw e;
        }
        for (AssembledArray.Rejection r : scan.unusable()) {
            LOG.log(Level.WARNING, "not using {0}", r);
        }
        for (AssemblyException refused : scan.refused()) {
            LOG.log(Level.WARNING, "not starting {0}", refused.getMessage());
        }
        RaidVolumeConfig volumeConfig = RaidVolumeConfig.DEFAULT
                .withMemberTimeout(config.memberTimeout())
                .withSafeModeDelay(config.safeModeDelay());
        Set<String> names = new HashSet<>();
        Set<BlockDevice> used = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
        NbdServerConfig.Builder serverConfig = NbdServerConfig.builder();
        for (AssembledArray array : scan.arrays()) {
            if (!names.add(array.name())) {
                throw new IllegalArgumentException(
                        "two arrays are named '" + array.name() + "'; export names must be unique");
            }
            LOG.log(Level.INFO, "assembled {0}", array.describe());
            for (String forced : array.forced()) {
                LOG.log(Level.WARNING, "array {0}: {1}", array.name(), forced);
            }
            RaidVolume volume = ArrayOpener.open(
                    array,
                    volumeConfig
                            .withVerifyReads(config.verifyReads(array.name()))
                            .withTagCache(config.tagCacheBytes()),
                    events);
            LOG.log(
                    Level.INFO,
                    "array {0}: integrity tags {1}; reads {2}; tag cache {3}",
                    array.name(),
                    volume.lifecycle().tagCache() == null ? "absent (members formatted without a raidd area)" : "on",
                    volume.verifyReads() ? "verified" : "NOT verified (--verify-reads off)",
                    io.raidd.cli.Sizes.human(config.tagCacheBytes()));
            for (AssembledArray.Member m : array.members()) {
                used.add(m.device().device());
            }
            VolumeAgents agents = VolumeAgents.start(volume, config.rebuildLimits());
            served.add(new Served(array, volume, agents, Scrubber.open(volume, agents.runner(), config.scrubEvery())));
            events.emit(ArrayEvent.of(
                    EventType.NewArray, array.name(), "", array.geometry().toString()));
            if (array.degraded()) {
                events.emit(ArrayEvent.of(
                        EventType.DegradedArray,
                        array.name(),
                        "",
                        "slots " + array.missingSlots() + " not in sync at assembly"));
            }
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
        }
        for (NamedDevice d : devices) {
            if (!used.contains(d.device())) {
                unusedDevices.add(d.device());
            }
        }
        if (served.isEmpty()) {
            StringBuilder why = new StringBuilder("no array to serve among the given members");
            for (AssemblyException refused : scan.refused()) {
                why.append(": ").append(refused.getMessage());
            }
            if (!scan.unusable().isEmpty()) {
                why.append("; not used: ").append(scan.unusable());
            }
            throw new IOException(why.toString());
        }
        control = ControlServer.start(config.controlSocket(), new DaemonControl(this));
        LOG.log(Level.INFO, "control socket {0} (raidctl --control {0} status)", config.controlSocket());
        for (DaemonConfig.HostPort hp : config.listen()) {
            serverConfig.listenTcp(hp.host(), hp.port());
        }
        if (config.unixSocket() != null) {
            serverConfig.listenUnix(config.unixSocket());
        }
        serverConfig.maxBufferedBytes(config.maxBufferedBytes()).stallTimeout(config.stallTimeout());
        serverConfig.tlsMode(config.tls());
        if (config.tlsCertificate() != null) {
            serverConfig.tlsCertificate(config.tlsCertificate(), config.tlsKey());
        }
        if (served.size() == 1) {
            serverConfig.defaultExport(served.get(0).volume().name());
        }
        awaitParityWarmUp(warmUp);
        server = new NbdServer(serverConfig.build());
        List<SocketAddress> bound = server.start();
        for (SocketAddress address : bound) {
            for (Served s : served) {
                uris.add(uri(address, s.volume().name()));
            }
        }
        for (String uri : uris) {
            LOG.log(Level.INFO, "serving {0}", uri);
        }
        for (SocketAddress address : bound) {
            if (address instanceof InetSocketAddress inet) {
                for (Served s : served) {
                    LOG.log(
                            Level.INFO,
                            "connect with: nbdinfo {0}   or, as root on Linux: nbd-client {1} {2} /dev/nbd0 -N {3}",
                            uri(inet, s.volume().name()),
                            inet.getAddress().getHostAddress(),
                            String.valueOf(inet.getPort()),
                            s.volume().name());
                }
                break;
            }
        }
    }

    /**
     * The same file (device and inode) under two paths, through a link or a symlink: refused, naming
     * both, before anything is opened.
     */
    static void refuseSameFileTwice(List<Path> paths) throws IOException {
        Map<Object, Path> seen = new HashMap<>();
        for (Path p : paths) {
            Object key;
            try {
                key = Files.readAttributes(p, BasicFileAttributes.class).fileKey();
            } catch (IOException e) {
                continue; // opening it reports the problem
            }
            if (key == null) {
                key = p.toAbsolutePath().normalize();
            }
            Path before = seen.putIfAbsent(key, p);
            if (before != null) {
                throw new IllegalArgumentException(
                        before + " and " + p + " are the same " + describeKey(key) + "; give each member once");
            }
        }
    }

    private static String describeKey(Object key) {
        return key instanceof Path ? "path" : "file (" + key + ")";
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

    /** The control socket raidctl talks to. */
    public Path controlSocket() {
        return config.controlSocket();
    }

    public List<RaidVolume> volumes() {
        List<RaidVolume> out = new ArrayList<>();
        for (Served s : served) {
            out.add(s.volume());
        }
        return out;
    }

    List<Served> served() {
        return List.copyOf(served);
    }

    Served served(String name) {
        for (Served s : served) {
            if (s.volume().name().equals(name)) {
                return s;
            }
        }
        return null;
    }

    @Override
    public void close() throws IOException {
        if (control != null) {
            control.close();
        }
        if (server != null) {
            server.close();
        }
        for (Served s : served) {
            s.agents().close();
        }
        IOException first = null;
        for (Served s : served) {
            RaidVolume v = s.volume();
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
        events.close();
        if (first != null) {
            throw first;
        }
    }
}
