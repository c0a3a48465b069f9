package io.raidd.cli.daemon;

import io.raidd.cli.Sizes;
import io.raidd.cli.control.ControlPath;
import io.raidd.nbd.NbdServerConfig;
import io.raidd.nbd.TlsMode;
import io.raidd.raid.agent.RateLimits;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * What the daemon serves and how; built once (from flags and an optional config file), validated,
 * then immutable.
 *
 * <p>Config file: one setting per line, {@code #} starts a comment, relative paths are relative to
 * the file:
 *
 * <pre>
 * listen 127.0.0.1:10809      # repeatable; "none" disables TCP
 * unix /run/raidd.sock
 * tls off|on|require
 * tls-cert server.pem
 * tls-key server.key
 * member d0.img d1.img ...    # repeatable; members are grouped into arrays by their UUID
 * member-timeout 30s
 * safe-mode-delay 2s          # idle time after which a written array is marked clean again
 * force yes|no                # start dirty degraded arrays (md's start_dirty_degraded)
 * control /run/raidd/raidd.sock   # control socket (default: see ControlPath)
 * event-program /usr/local/sbin/raid-alert   # run as PROG EVENT VOLUME [MEMBER] for each event
 * allow-fault-injection yes|no  # let raidctl inject faults into live members (drills only)
 * rebuild-max unlimited       # rate a rebuild or resync may reach when the volume is idle (50M, 1G, unlimited)
 * rebuild-min 10M             # rate it keeps under foreground I/O
 * verify-reads on|off         # check integrity tags on every read (default on); repeatable
 * verify-reads NAME=off       #   ... or for one volume
 * tag-cache 64M               # memory for integrity tags per volume (1 MiB of tags covers 1 GiB)
 * max-buffered 256M           # ceiling on client data held in memory (default: sized for the machine)
 * stall-timeout 3m            # close a connection that leaves replies unread (or stops mid-request) this long
 * scrub-every 7d              # start a repair scrub of every volume this long after the last one began
 * </pre>
 */
public record DaemonConfig(
        List<Path> members,
        List<HostPort> listen,
        Path unixSocket,
        TlsMode tls,
        Path tlsCertificate,
        Path tlsKey,
        boolean force,
        Path demoDirectory,
        Duration memberTimeout,
        Duration safeModeDelay,
        Path controlSocket,
        String eventProgram,
        boolean allowFaultInjection,
        long rebuildMinBytesPerSecond,
        long rebuildMaxBytesPerSecond,
        boolean verifyReads,
        java.util.Map<String, Boolean> verifyReadsByVolume,
        long tagCacheBytes,
        long maxBufferedBytes,
        Duration stallTimeout,
        Duration scrubEvery) {

    public static final Duration DEFAULT_MEMBER_TIMEOUT = Duration.ofSeconds(30);
    public static final Duration DEFAULT_SAFE_MODE_DELAY = Duration.ofSeconds(2);
    public static final long DEFAULT_REBUILD_MIN_BYTES_PER_SECOND = RateLimits.DEFAULT.minBytesPerSecond();
    public static final long DEFAULT_REBUILD_MAX_BYTES_PER_SECOND = RateLimits.DEFAULT.maxBytesPerSecond();
    public static final Duration DEFAULT_STALL_TIMEOUT = NbdServerConfig.DEFAULT_STALL_TIMEOUT;

    /** A TCP listen address. */
    public record HostPort(String host, int port) {
        public static HostPort parse(String text) {
            int colon = text.lastIndexOf(':');
            String host = colon < 0 ? text : text.substring(0, colon);
            String port = colon < 0 ? "10809" : text.substring(colon + 1);
            if (host.startsWith("[") && host.endsWith("]")) {
                host = host.substring(1, host.length() - 1);
            }
            try {
                int p = Integer.parseInt(port);
                if (p < 0 || p > 65535) {
                    throw new NumberFormatException();
                }
                return new HostPort(host.isEmpty() ? "127.0.0.1" : host, p);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("bad listen address '" + text + "' (expected HOST:PORT)");
            }
        }

        @Override
        public String toString() {
            return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
        }
    }

    public static final long DEFAULT_TAG_CACHE_BYTES = io.raidd.raid.volume.RaidVolumeConfig.DEFAULT.tagCacheBytes();

    public DaemonConfig {
        members = List.copyOf(members);
        verifyReadsByVolume = java.util.Map.copyOf(verifyReadsByVolume);
        if (tagCacheBytes < 4096) {
            throw new IllegalArgumentException("--tag-cache must be at least 4K");
        }
        listen = List.copyOf(listen);
        if (members.isEmpty() && demoDirectory == null) {
            throw new IllegalArgumentException(
                    "nothing to serve: give member paths, a config file with 'member' lines, or --demo");
        }
        if (listen.isEmpty() && unixSocket == null) {
            throw new IllegalArgumentException("no listener: give --listen HOST:PORT or --unix PATH");
        }
        if (tls != TlsMode.OFF && (tlsCertificate == null || tlsKey == null)) {
            throw new IllegalArgumentException(
                    "--tls " + tls.name().toLowerCase(Locale.ROOT) + " needs --tls-cert and --tls-key");
        }
        if (memberTimeout.isNegative() || memberTimeout.isZero()) {
            throw new IllegalArgumentException("member timeout must be positive");
        }
        Objects.requireNonNull(controlSocket, "controlSocket");
        if (eventProgram != null && eventProgram.isBlank()) {
            throw new IllegalArgumentException("--event-program must name a program");
        }
        if (rebuildMinBytesPerSecond <= 0 || rebuildMaxBytesPerSecond <= 0) {
            throw new IllegalArgumentException("rebuild rates must be positive");
        }
        if (scrubEvery != null && (scrubEvery.isNegative() || scrubEvery.isZero())) {
            throw new IllegalArgumentException("--scrub-every must be positive");
        }
        if (rebuildMinBytesPerSecond > rebuildMaxBytesPerSecond) {
            throw new IllegalArgumentException("--rebuild-min " + formatRate(rebuildMinBytesPerSecond)
                    + " is above --rebuild-max " + formatRate(rebuildMaxBytesPerSecond));
        }
        if (maxBufferedBytes < NbdServerConfig.MIN_MAX_BUFFERED_BYTES) {
            throw new IllegalArgumentException("--max-buffered must be at least "
                    + formatRate(NbdServerConfig.MIN_MAX_BUFFERED_BYTES) + ", not " + formatRate(maxBufferedBytes));
        }
        if (stallTimeout.isNegative() || stallTimeout.isZero()) {
            throw new IllegalArgumentException("--stall-timeout must be positive");
        }
    }

    /** Whether reads of volume {@code name} check integrity tags. */
    public boolean verifyReads(String name) {
        return verifyReadsByVolume.getOrDefault(name, verifyReads);
    }

    /** The rebuild and resync rate limits every volume starts with. */
    public RateLimits rebuildLimits() {
        return new RateLimits(rebuildMinBytesPerSecond, rebuildMaxBytesPerSecond);
    }

    /** Mutable gathering of settings before validation. */
    public static final class Builder {
        public final List<Path> members = new ArrayList<>();
        public final List<HostPort> listen = new ArrayList<>();
        public boolean listenGiven;
        public Path unixSocket;
        public TlsMode tls = TlsMode.OFF;
        public Path tlsCertificate;
        public Path tlsKey;
        public boolean force;
        public Path demoDirectory;
        public Duration memberTimeout = DEFAULT_MEMBER_TIMEOUT;
        public Duration safeModeDelay = DEFAULT_SAFE_MODE_DELAY;
        /** Null: {@link ControlPath#resolve(Path)} decides. */
        public Path controlSocket;

        public String eventProgram;
        public boolean allowFaultInjection;
        /** Null: the default, lowered to the maximum when that is set below it. */
        public Long rebuildMinBytesPerSecond;

        public long rebuildMaxBytesPerSecond = DEFAULT_REBUILD_MAX_BYTES_PER_SECOND;

        public boolean verifyReads = true;
        public final java.util.Map<String, Boolean> verifyReadsByVolume = new java.util.HashMap<>();
        public long tagCacheBytes = DEFAULT_TAG_CACHE_BYTES;

        /** {@code on}, {@code off}, or {@code VOLUME=on|off}. */
        public void verifyReads(String setting) {
            int eq = setting.indexOf('=');
            if (eq < 0) {
                verifyReads = parseYesNo(setting);
            } else if (eq == 0) {
                throw new IllegalArgumentException("--verify-reads " + setting + ": no volume name before '='");
            } else {
                verifyReadsByVolume.put(setting.substring(0, eq), parseYesNo(setting.substring(eq + 1)));
            }
        }
        /** Null: {@link NbdServerConfig#defaultMaxBufferedBytes()}, sized for the machine. */
        public Long maxBufferedBytes;

        public Duration stallTimeout = DEFAULT_STALL_TIMEOUT;

        /** Null: scrubs only when asked. */
        public Duration scrubEvery;

        public DaemonConfig build() {
            List<HostPort> addresses = new ArrayList<>(listen);
            if (!listenGiven && addresses.isEmpty()) {
                addresses.add(new HostPort("127.0.0.1", 10809));
            }
            return new DaemonConfig(
                    members,
                    addresses,
                    unixSocket,
                    tls,
                    tlsCertificate,
                    tlsKey,
                    force,
                    demoDirectory,
                    memberTimeout,
                    safeModeDelay,
                    controlSocket != null ? controlSocket : ControlPath.resolve(null),
                    eventProgram,
                    allowFaultInjection,
                    rebuildMinBytesPerSecond != null
                            ? rebuildMinBytesPerSecond
                            : Math.min(DEFAULT_REBUILD_MIN_BYTES_PER_SECOND, rebuildMaxBytesPerSecond),
                    rebuildMaxBytesPerSecond,
                    verifyReads,
                    verifyReadsByVolume,
                    tagCacheBytes,
                    maxBufferedBytes != null ? maxBufferedBytes : NbdServerConfig.defaultMaxBufferedBytes(),
                    stallTimeout,
                    scrubEvery);
        }

        /** Applies a config file; settings given later (flags) override or add to these. */
        public Builder readFile(Path file) throws IOException {
            Path base = file.toAbsolutePath().getParent();
            int lineNo = 0;
            for (String raw : Files.readAllLines(file)) {
                lineNo++;
                String line = raw.replaceFirst("#.*", "").trim();
                if (line.isEmpty()) {
                    continue;
                }
                String[] words = line.split("\\s+");
                String key = words[0].toLowerCase(Locale.ROOT);
                try {
                    switch (key) {
                        case "listen" -> {
                            listenGiven = true;
                            if (!words[1].equals("none")) {
                                listen.add(HostPort.parse(words[1]));
                            }
                        }
                        case "unix" -> unixSocket = base.resolve(words[1]);
                        case "tls" -> tls = parseTls(words[1]);
                        case "tls-cert" -> tlsCertificate = base.resolve(words[1]);
                        case "tls-key" -> tlsKey = base.resolve(words[1]);
                        case "member" -> {
                            for (int i = 1; i < words.length; i++) {
                                members.add(base.resolve(words[i]));
                            }
                        }
                        case "member-timeout" -> memberTimeout = parseDuration(words[1]);
                        case "safe-mode-delay" -> safeModeDelay = parseDuration(words[1]);
                        case "force" -> force = parseYesNo(words[1]);
                        case "control" -> controlSocket = base.resolve(words[1]);
                        case "event-program" ->
                            eventProgram = words[1].contains("/")
                                    ? base.resolve(words[1]).toString()
                                    : words[1];
                        case "allow-fault-injection" -> allowFaultInjection = parseYesNo(words[1]);
                        case "rebuild-max" -> rebuildMaxBytesPerSecond = parseRate(words[1]);
                        case "rebuild-min" -> rebuildMinBytesPerSecond = parseRate(words[1]);
                        case "verify-reads" -> verifyReads(words[1]);
                        case "tag-cache" -> tagCacheBytes = Sizes.parse(words[1]);
                        case "max-buffered" -> maxBufferedBytes = parseSize(words[1]);
                        case "stall-timeout" -> stallTimeout = parseDuration(words[1]);
                        case "scrub-every" -> scrubEvery = parseDuration(words[1]);
                        default -> throw new IllegalArgumentException("unknown setting '" + words[0] + "'");
                    }
                } catch (ArrayIndexOutOfBoundsException e) {
                    throw new IllegalArgumentException(file + ":" + lineNo + ": '" + key + "' needs a value");
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException(file + ":" + lineNo + ": " + e.getMessage());
                }
            }
            return this;
        }
    }

    static boolean parseYesNo(String text) {
        return switch (text.toLowerCase(Locale.ROOT)) {
            case "yes", "true", "on" -> true;
            case "no", "false", "off" -> false;
            default -> throw new IllegalArgumentException("expected yes or no, not '" + text + "'");
        };
    }

    /**
     * A rate in bytes per second as operators write it: {@code 50M}, {@code 1G}, {@code 500K/s},
     * {@code unlimited}; positive.
     */
    public static long parseRate(String text) {
        String s = text.trim();
        if (s.equalsIgnoreCase("unlimited")) {
            return RateLimits.UNLIMITED;
        }
        if (s.toLowerCase(Locale.ROOT).endsWith("/s")) {
            s = s.substring(0, s.length() - 2);
        }
        long rate;
        try {
            rate = Sizes.parse(s);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("bad rate '" + text + "' (examples: 50M, 1G, unlimited)");
        }
        if (rate <= 0) {
            throw new IllegalArgumentException("rate must be positive: '" + text + "'");
        }
        return rate;
    }

    /** A size as operators write it: {@code 256M}, {@code 1G}, {@code 64MiB}. */
    public static long parseSize(String text) {
        return Sizes.parse(text);
    }

    /** A rate as {@link #parseRate} reads it back: {@code 10M}, {@code unlimited}, or bytes. */
    public static String formatRate(long bytesPerSecond) {
        if (bytesPerSecond == RateLimits.UNLIMITED) {
            return "unlimited";
        }
        String[] units = {"", "K", "M", "G", "T"};
        int u = 0;
        long v = bytesPerSecond;
        while (u < units.length - 1 && v % 1024 == 0 && v >= 1024) {
            v /= 1024;
            u++;
        }
        return v + units[u];
    }

    public static TlsMode parseTls(String text) {
        return switch (text.toLowerCase(Locale.ROOT)) {
            case "off", "no" -> TlsMode.OFF;
            case "on", "yes" -> TlsMode.ON;
            case "require", "required" -> TlsMode.REQUIRE;
            default -> throw new IllegalArgumentException("bad TLS mode '" + text + "' (off, on, require)");
        };
    }

    /** {@code 30s}, {@code 500ms}, {@code 2m}, {@code 12h}, {@code 7d}, or ISO-8601 ({@code PT30S}). */
    public static Duration parseDuration(String text) {
        String s = text.trim().toLowerCase(Locale.ROOT);
        try {
            if (s.equals("0")) {
                return Duration.ZERO;
            }
            if (s.endsWith("ms")) {
                return Duration.ofMillis(Long.parseLong(s.substring(0, s.length() - 2)));
            }
            if (s.endsWith("s")) {
                return Duration.ofSeconds(Long.parseLong(s.substring(0, s.length() - 1)));
            }
            if (s.endsWith("m")) {
                return Duration.ofMinutes(Long.parseLong(s.substring(0, s.length() - 1)));
            }
            if (s.endsWith("h")) {
                return Duration.ofHours(Long.parseLong(s.substring(0, s.length() - 1)));
            }
            if (s.endsWith("d")) {
                return Duration.ofDays(Long.parseLong(s.substring(0, s.length() - 1)));
            }
            return Duration.parse(text);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("bad duration '" + text + "' (examples: 30s, 500ms, 2m)");
        }
    }
}
