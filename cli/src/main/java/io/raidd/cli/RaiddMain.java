package io.raidd.cli;

import io.raidd.cli.daemon.Daemon;
import io.raidd.cli.daemon.DaemonConfig;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * The daemon: assembles arrays from member paths and serves each as an NBD export named after the
 * array. SIGTERM or SIGINT stop it cleanly: stop accepting, finish in-flight requests, flush
 * members, mark superblocks clean, exit 0.
 */
@Command(
        name = "raidd",
        mixinStandardHelpOptions = true,
        versionProvider = Version.class,
        description = "Serves md-compatible RAID volumes over NBD.",
        footer = {
            "",
            "Examples:",
            "  raidd --demo                      RAID-6 of six sparse 1 GiB files under ./raidd-demo",
            "  raidd d0.img d1.img d2.img        assemble and serve the array(s) these members form",
            "  raidd --config /etc/raidd.conf"
        })
public final class RaiddMain implements Callable<Integer> {

    @Parameters(
            paramLabel = "MEMBER",
            description = "Member image files or block devices; grouped into arrays by UUID.")
    List<Path> members = List.of();

    @Option(
            names = "--config",
            paramLabel = "FILE",
            description = "Read settings from FILE (flags add to or override them).")
    Path configFile;

    @Option(
            names = "--listen",
            paramLabel = "HOST:PORT",
            description =
                    "TCP address to serve on (repeatable; default 127.0.0.1:10809). Binding beyond loopback is an explicit choice.")
    List<String> listen = List.of();

    @Option(names = "--no-tcp", description = "Serve on the unix socket only.")
    boolean noTcp;

    @Option(names = "--unix", paramLabel = "PATH", description = "Also serve on a unix socket.")
    Path unixSocket;

    @Option(names = "--tls", paramLabel = "MODE", description = "off, on (offered) or require.")
    String tls;

    @Option(names = "--tls-cert", paramLabel = "PEM", description = "Server certificate chain.")
    Path tlsCertificate;

    @Option(names = "--tls-key", paramLabel = "PEM", description = "Server private key.")
    Path tlsKey;

    @Option(
            names = "--force",
            description = "Start arrays that are both dirty and degraded (data may be inconsistent).")
    boolean force;

    @Option(
            names = "--member-timeout",
            paramLabel = "DURATION",
            description = "Fail a member whose I/O takes longer (default 30s).")
    String memberTimeout;

    @Option(
            names = "--safe-mode-delay",
            paramLabel = "DURATION",
            description =
                    "Mark an array clean again after this long without writes (default 2s; 0 = only at shutdown).")
    String safeModeDelay;

    @Option(
            names = "--demo",
            arity = "0..1",
            paramLabel = "DIR",
            fallbackValue = "raidd-demo",
            description =
                    "Create (first time) or reopen a RAID-6 of six sparse 1 GiB files in DIR (default ./raidd-demo) and serve it.")
    Path demoDirectory;

    @Option(
            names = "--control",
            paramLabel = "PATH",
            description = "Control socket for raidctl (default: $RAIDD_CONTROL, else /run/raidd/raidd.sock as root,"
                    + " else $XDG_RUNTIME_DIR/raidd.sock, else ./raidd.sock).")
    Path control;

    @Option(
            names = "--event-program",
            paramLabel = "PROG",
            description =
                    "Run PROG EVENT VOLUME [MEMBER] for each event (like mdadm --monitor --program), one at a"
                            + " time, at most 30 s each; RAIDD_EVENT, RAIDD_VOLUME, RAIDD_MEMBER, RAIDD_DETAIL in its environment.")
    String eventProgram;

    @Option(
            names = "--allow-fault-injection",
            description = "Let raidctl inject faults into live members (failure drills; never on data you care about).")
    boolean allowFaultInjection;

    @Option(
            names = "--rebuild-max",
            paramLabel = "RATE",
            description =
                    "Rate a rebuild or resync may reach while the volume is idle, bytes/s (50M, 1G; default unlimited).")
    String rebuildMax;

    @Option(
            names = "--rebuild-min",
            paramLabel = "RATE",
            description = "Rate a rebuild or resync keeps under foreground I/O, bytes/s (default 10M).")
    String rebuildMin;

    @Option(
            names = "--verify-reads",
            paramLabel = "on|off|VOLUME=on|off",
            description = "Check every read against the members' integrity tags, serving and repairing from"
                    + " redundancy what fails (default on); repeatable, per volume with VOLUME=off.")
    List<String> verifyReads = new java.util.ArrayList<>();

    @Option(
            names = "--tag-cache",
            paramLabel = "SIZE",
            description =
                    "Memory for integrity tags, per volume (default 64M; 1 MiB of tags covers 1 GiB of a member).")
    String tagCache;

    @Option(
            names = "--max-buffered",
            paramLabel = "SIZE",
            description = "Ceiling on client data held in memory (READ replies not yet sent, WRITE payloads not yet"
                    + " written), shared equally among busy connections (default 256M, at most 1/16 of RAM and half the JVM's"
                    + " direct memory).")
    String maxBuffered;

    @Option(
            names = "--stall-timeout",
            paramLabel = "DURATION",
            description = "Close a connection that leaves replies unread, or stops sending in the middle of a request,"
                    + " for this long (default 3m).")
    String stallTimeout;

    @Option(
            names = "--scrub-every",
            paramLabel = "DURATION",
            description = "Start a repair scrub of every volume this long after the last one started (7d, 12h;"
                    + " default: only when asked with raidctl scrub start).")
    String scrubEvery;

    @Option(
            names = {"-v", "--verbose"},
            description = "Log more.")
    boolean verbose;

    public static void main(String[] args) {
        System.exit(new CommandLine(new RaiddMain()).execute(args));
    }

    DaemonConfig config() throws java.io.IOException {
        DaemonConfig.Builder b = new DaemonConfig.Builder();
        if (configFile != null) {
            b.readFile(configFile);
        }
        b.members.addAll(members);
        for (String l : listen) {
            b.listen.add(DaemonConfig.HostPort.parse(l));
        }
        if (noTcp) {
            b.listen.clear();
            b.listenGiven = true;
        }
        if (unixSocket != null) {
            b.unixSocket = unixSocket;
        }
        if (tls != null) {
            b.tls = DaemonConfig.parseTls(tls);
        }
        if (tlsCertificate != null) {
            b.tlsCertificate = tlsCertificate;
        }
        if (tlsKey != null) {
            b.tlsKey = tlsKey;
        }
        b.force |= force;
        if (memberTimeout != null) {
            b.memberTimeout = DaemonConfig.parseDuration(memberTimeout);
        }
        if (safeModeDelay != null) {
            b.safeModeDelay = DaemonConfig.parseDuration(safeModeDelay);
        }
        b.demoDirectory = demoDirectory;
        if (control != null) {
            b.controlSocket = control;
        }
        if (eventProgram != null) {
            b.eventProgram = eventProgram;
        }
        b.allowFaultInjection |= allowFaultInjection;
        if (rebuildMax != null) {
            b.rebuildMaxBytesPerSecond = DaemonConfig.parseRate(rebuildMax);
        }
        if (rebuildMin != null) {
            b.rebuildMinBytesPerSecond = DaemonConfig.parseRate(rebuildMin);
        }
        for (String v : verifyReads) {
            b.verifyReads(v);
        }
        if (tagCache != null) {
            b.tagCacheBytes = io.raidd.cli.Sizes.parse(tagCache);
        }
        if (maxBuffered != null) {
            b.maxBufferedBytes = DaemonConfig.parseSize(maxBuffered);
        }
        if (stallTimeout != null) {
            b.stallTimeout = DaemonConfig.parseDuration(stallTimeout);
        }
        if (scrubEvery != null) {
            b.scrubEvery = DaemonConfig.parseDuration(scrubEvery);
        }
        return b.build();
    }

    @Override
    public Integer call() {
        Logging.configure(verbose);
        DaemonConfig config;
        try {
            config = config();
        } catch (Exception e) {
            System.err.println("raidd: " + e.getMessage());
            return 2;
        }
        CountDownLatch stop = new CountDownLatch(1);
        Signals.onTerminate(stop::countDown);
        try (Daemon daemon = Daemon.start(config)) {
            for (String uri : daemon.uris()) {
                System.out.println(uri);
            }
            System.out.println("raidctl --control " + daemon.controlSocket() + " status");
            System.out.flush();
            stop.await();
            System.err.println("raidd: stopping");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            System.err.println("raidd: " + e.getMessage());
            return 1;
        }
        return 0;
    }
}
