package io.raidd.cli;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

/**
 * The real Linux md driver as an oracle for member images: boots a throwaway VM (qemu, the
 * packaged Debian kernel, an initramfs with busybox, mdadm and the md modules) with the images as
 * virtio disks, and reports what md says: {@code mdadm --examine} of every member before assembly,
 * whether {@code mdadm --assemble} starts the array and in which state (degraded? resync or
 * recovery needed?), {@code mismatch_cnt} after md's own {@code check}, and optionally the
 * content of the array device (copied onto an extra disk in the VM, hashed here).
 *
 * <p>md writes superblocks (events, clean state) when it assembles and stops: pass copies when the
 * originals must stay as they are. Never pass images a running raidd has open.
 *
 * <p>Missing qemu, kernel, modules, mdadm or busybox fail the test (CI installs them: see
 * {@code .ci/run}). The kernel is the newest {@code /boot/vmlinuz-<ver>} with md modules under
 * {@code /lib/modules/<ver>}; system properties {@code raidd.kernel.version},
 * {@code raidd.kernel.accel} (auto, kvm, tcg), {@code raidd.kernel.boot} (auto, vmlinux, bzimage)
 * and {@code raidd.kernel.timeout} (seconds) override the choices. The initramfs and the
 * decompressed kernel are built once and cached under {@code raidd.kernel.cache} (default
 * {@code /tmp/raidd-kernel-md}), keyed by the kernel version and a hash of their inputs.
 */
final class KernelMd {
    /** Modules to load (with what modules.dep says they need), in this order. */
    private static final List<String> MODULES = List.of(
            "virtio_pci",
            "virtio_blk",
            // libcrc32c (raid456 needs it) asks the crypto API for "crc32c", a soft dependency
            // modules.dep does not list; the generic implementation works on every CPU.
            "crc32c_generic",
            "md_mod",
            "raid0",
            "raid1",
            "raid10",
            "raid456");

    private static final String INIT_RESOURCE = "kernel-md-init.sh";
    /** Bump when the initramfs layout changes in a way the cache key does not see. */
    private static final int FORMAT = 1;

    private static final Duration KVM_TIMEOUT = Duration.ofSeconds(120);
    private static final Duration TCG_TIMEOUT = Duration.ofSeconds(600);
    /** A KVM guest that has not reached /init by then never will (e.g. a KVM that is not hardware virtualisation). */
    private static final Duration KVM_INIT_TIMEOUT = Duration.ofSeconds(30);

    private static final Pattern MARKER = Pattern.compile("^@@(T|BEGIN|END|KV|ERROR|DONE)(?: (.*))?$");

    /** What to ask the VM beyond assembling. */
    record Options(boolean check, long copyBytes, Path expectedContent) {
        static Options checkOnly() {
            return new Options(true, 0, null);
        }

        /** Check, and compare the first {@code bytes} of the array device with the same bytes of {@code expected}. */
        static Options checkAndCompare(long bytes, Path expected) {
            return new Options(true, bytes, expected);
        }
    }

    /** What md said. */
    record Result(
            String kernelVersion,
            String accel,
            String boot,
            boolean assembled,
            Map<String, String> examine,
            Map<String, String> values,
            Map<String, String> sections,
            List<String> errors,
            /** After md's check; -1 when it was not asked for or md did not run it (see errors). */
            long mismatchCnt,
            long sizeBytes,
            String contentSha256,
            long contentFirstDifference,
            Duration bootTime,
            Duration checkTime,
            Duration copyTime,
            Duration totalTime,
            String console) {

        /** A {@code key=value} the VM reported, e.g. {@code at_assembly.resync_start}; null when absent. */
        String value(String key) {
            return values.get(key);
        }

        String section(String name) {
            return sections.getOrDefault(name, "");
        }

        String detailAtAssembly() {
            return section("detail_at_assembly");
        }

        /** A field of {@code mdadm --detail} right after assembly ("State", "Active Devices", ...); null when absent. */
        String detail(String field) {
            return field(detailAtAssembly(), field);
        }

        int detailInt(String field) {
            String v = detail(field);
            return v == null ? -1 : Integer.parseInt(v.trim());
        }

        /** {@code Array State} of each member's superblock as {@code mdadm --examine} showed it before assembly. */
        Map<String, String> examineArrayStates() {
            Map<String, String> states = new LinkedHashMap<>();
            examine.forEach((dev, text) -> {
                String v = field(text, "Array State");
                states.put(dev, v == null ? null : v.split(" ")[0]);
            });
            return states;
        }

        /** The per-member sysfs lines ({@code slot=.. state=.. recovery_start=..}) at the given point. */
        Map<String, String> devices(String when) {
            Map<String, String> devs = new LinkedHashMap<>();
            String prefix = when + ".dev.";
            values.forEach((k, v) -> {
                if (k.startsWith(prefix)) {
                    devs.put(k.substring(prefix.length()), v);
                }
            });
            return devs;
        }

        String summary() {
            return String.format(
                    "md (kernel %s, %s, %s): assembled=%s state=%s raid=%d active=%d mismatch_cnt=%d size=%d%n"
                            + "  at assembly: array_state=%s degraded=%s resync_start=%s sync_action=%s devices=%s%n"
                            + "  examine Array State: %s%n"
                            + "  boot %d ms, check %d ms, copy %d ms, total %d ms%s",
                    kernelVersion,
                    accel,
                    boot,
                    assembled,
                    detail("State"),
                    detailInt("Raid Devices"),
                    detailInt("Active Devices"),
                    mismatchCnt,
                    sizeBytes,
                    value("at_assembly.array_state"),
                    value("at_assembly.degraded"),
                    value("at_assembly.resync_start"),
                    value("at_assembly.sync_action"),
                    devices("at_assembly"),
                    examineArrayStates(),
                    bootTime.toMillis(),
                    checkTime.toMillis(),
                    copyTime.toMillis(),
                    totalTime.toMillis(),
                    errors.isEmpty() ? "" : "\n  errors: " + errors);
        }

        /** The summary and the whole console log, for assertion messages. */
        String describe() {
            return summary() + "\n---- console ----\n" + console;
        }

        private static String field(String text, String field) {
            Matcher m = Pattern.compile("(?m)^\\s*" + Pattern.quote(field) + " : (.*)$")
                    .matcher(text);
            return m.find() ? m.group(1).trim() : null;
        }
    }

    /** Assembles, checks, reports; nothing about the content. */
    static Result check(List<Path> images) throws IOException, InterruptedException {
        return run(images, Options.checkOnly());
    }

    static Result run(List<Path> images, Options options) throws IOException, InterruptedException {
        if (images.isEmpty() || images.size() > 25) {
            throw new IllegalArgumentException("1 to 25 member images, not " + images.size());
        }
        Artifacts artifacts = Artifacts.get();
        String accel = chooseAccel();
        Path copy = null;
        try {
            if (options.copyBytes() > 0) {
                Path dir = images.get(0).toAbsolutePath().getParent();
                copy = Files.createTempFile(dir, "kernel-md-copy-", ".img");
                try (RandomAccessFile f = new RandomAccessFile(copy.toFile(), "rw")) {
                    f.setLength((options.copyBytes() + (1 << 20) - 1) & -(1L << 20));
                }
            }
            Boot boot = boot(artifacts, accel, images, copy, options);
            if (boot == null) {
                // KVM that cannot run this kernel (the guest never reached /init): emulate instead.
                accel = "tcg";
                boot = boot(artifacts, accel, images, copy, options);
            }
            return parse(artifacts, accel, boot, copy, options);
        } finally {
            if (copy != null) {
                Files.deleteIfExists(copy);
            }
        }
    }

    // ---------------------------------------------------------------- the VM

    private record Line(long atNs, String text) {}

    private record Boot(List<Line> lines, long startNs, long endNs, String command) {}

    /** Runs the VM to its end; null when KVM never reached /init (the caller retries with TCG). */
    private static Boot boot(Artifacts artifacts, String accel, List<Path> images, Path copy, Options options)
            throws IOException, InterruptedException {
        String qemu = Tools.require("qemu-system-x86_64", "qemu-system-x86");
        boolean kvm = accel.equals("kvm");
        Duration timeout =
                Duration.ofSeconds(Long.getLong("raidd.kernel.timeout", (kvm ? KVM_TIMEOUT : TCG_TIMEOUT).toSeconds()));
        long waitS = Math.max(10, timeout.toSeconds() - 30);
        List<String> cmd = new ArrayList<>(List.of(qemu, "-accel", accel));
        if (kvm) {
            cmd.addAll(List.of("-cpu", "host"));
        }
        cmd.addAll(List.of(
                "-smp",
                "1",
                "-m",
                "256",
                "-nodefaults",
                "-no-user-config",
                "-display",
                "none",
                "-serial",
                "stdio",
                "-no-reboot",
                "-kernel",
                artifacts.kernel().toString(),
                "-initrd",
                artifacts.initrd().toString(),
                "-append",
                "console=ttyS0 panic=-1 quiet raidd_members=" + images.size() + " raidd_copy=" + options.copyBytes()
                        + " raidd_check=" + (options.check() ? 1 : 0) + " raidd_wait=" + waitS));
        List<Path> disks = new ArrayList<>(images);
        if (copy != null) {
            disks.add(copy);
        }
        for (Path p : disks) {
            String file = p.toAbsolutePath().toString();
            if (file.contains(",")) {
                throw new IllegalArgumentException("qemu -drive cannot take a path with a comma: " + file);
            }
            cmd.addAll(List.of("-drive", "file=" + file + ",format=raw,if=virtio,cache=writeback"));
        }
        String command = String.join(" ", cmd);
        List<Line> lines = new ArrayList<>();
        long startNs = System.nanoTime();
        Process p = new ProcessBuilder(cmd)
                .redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .start();
        Thread reader = new Thread(
                () -> {
                    try (BufferedReader r =
                            new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                        for (String line = r.readLine(); line != null; line = r.readLine()) {
                            long at = System.nanoTime();
                            synchronized (lines) {
                                lines.add(new Line(at, line.replace("\r", "")));
                            }
                        }
                    } catch (IOException e) {
                        // The process was killed; what was read is in lines.
                    }
                },
                "kernel-md-console");
        reader.setDaemon(true);
        reader.start();
        long deadlineNs = startNs + timeout.toNanos();
        try {
            while (!p.waitFor(100, TimeUnit.MILLISECONDS)) {
                long now = System.nanoTime();
                if (kvm && now - startNs > KVM_INIT_TIMEOUT.toNanos() && !reachedInit(lines)) {
                    System.out.println("KernelMd: no /init after " + KVM_INIT_TIMEOUT.toSeconds()
                            + " s with KVM, retrying with TCG (emulation)");
                    return null;
                }
                if (now - deadlineNs > 0) {
                    p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                    reader.join(5_000);
                    fail("the md oracle VM did not finish within " + timeout + " (" + accel + ")\n" + command
                            + "\n---- console ----\n" + text(lines));
                }
            }
            reader.join(10_000);
        } finally {
            if (p.isAlive()) {
                p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
        long endNs = System.nanoTime();
        synchronized (lines) {
            if (p.exitValue() != 0) {
                fail("qemu exited " + p.exitValue() + "\n" + command + "\n---- console ----\n" + text(lines));
            }
            return new Boot(List.copyOf(lines), startNs, endNs, command);
        }
    }

    private static boolean reachedInit(List<Line> lines) {
        synchronized (lines) {
            return lines.stream().anyMatch(l -> l.text().startsWith("@@T init "));
        }
    }

    private static String text(List<Line> lines) {
        synchronized (lines) {
            StringBuilder b = new StringBuilder();
            for (Line l : lines) {
                b.append(l.text()).append('\n');
            }
            return b.toString();
        }
    }

    private static Result parse(Artifacts artifacts, String accel, Boot boot, Path copy, Options options)
            throws IOException {
        String console = text(boot.lines());
        Map<String, String> values = new LinkedHashMap<>();
        Map<String, String> sections = new LinkedHashMap<>();
        Map<String, Double> guestStamps = new LinkedHashMap<>();
        Map<String, Long> hostStamps = new LinkedHashMap<>();
        List<String> errors = new ArrayList<>();
        boolean done = false;
        String open = null;
        StringBuilder body = new StringBuilder();
        for (Line line : boot.lines()) {
            Matcher m = MARKER.matcher(line.text());
            if (!m.matches()) {
                if (open != null) {
                    body.append(line.text()).append('\n');
                }
                continue;
            }
            String arg = m.group(2) == null ? "" : m.group(2);
            switch (m.group(1)) {
                case "T" -> {
                    String[] parts = arg.split(" ");
                    guestStamps.put(parts[0], Double.parseDouble(parts[1]));
                    hostStamps.put(parts[0], line.atNs());
                }
                case "BEGIN" -> {
                    open = arg;
                    body.setLength(0);
                }
                case "END" -> {
                    sections.put(arg, body.toString());
                    open = null;
                }
                case "KV" -> {
                    int eq = arg.indexOf('=');
                    values.put(arg.substring(0, eq), arg.substring(eq + 1));
                }
                case "ERROR" -> errors.add(arg);
                case "DONE" -> done = true;
                default -> throw new IllegalStateException(m.group(1));
            }
        }
        if (!done) {
            fail("the md oracle VM stopped before its end (no @@DONE)\n" + boot.command() + "\n---- console ----\n"
                    + console);
        }
        Map<String, String> examine = new LinkedHashMap<>();
        String dev = null;
        StringBuilder text = new StringBuilder();
        for (String l : sections.getOrDefault("examine", "").split("\n", -1)) {
            if (l.matches("^/dev/vd[a-z]+:$")) {
                if (dev != null) {
                    examine.put(dev, text.toString());
                }
                dev = l.substring(0, l.length() - 1);
                text.setLength(0);
            } else if (dev != null) {
                text.append(l).append('\n');
            }
        }
        if (dev != null) {
            examine.put(dev, text.toString());
        }
        boolean assembled = "1".equals(values.get("assembled"));
        long mismatch = -1;
        if (values.containsKey("mismatch_cnt")) {
            if ("check".equals(values.get("check.last_sync_action"))) {
                mismatch = Long.parseLong(values.get("mismatch_cnt"));
            } else {
                errors.add("md did not run the check (last_sync_action " + values.get("check.last_sync_action")
                        + ", writing sync_action exited " + values.get("check_rc") + ")");
            }
        }
        long size = values.containsKey("size_bytes") ? Long.parseLong(values.get("size_bytes")) : -1;
        String sha = null;
        long firstDifference = -2;
        if (copy != null && assembled) {
            if (!"0".equals(values.get("copy_rc"))) {
                fail("copying /dev/md0 in the VM failed\n" + sections.get("copy") + "\n---- console ----\n" + console);
            }
            sha = sha256(copy, options.copyBytes());
            if (options.expectedContent() != null) {
                firstDifference = firstDifference(copy, options.expectedContent(), options.copyBytes());
            }
        }
        return new Result(
                artifacts.version(),
                accel,
                artifacts.bootDescription(),
                assembled,
                examine,
                values,
                sections,
                errors,
                mismatch,
                size,
                sha,
                firstDifference,
                hostStamps.containsKey("init")
                        ? Duration.ofNanos(hostStamps.get("init") - boot.startNs())
                        : Duration.ZERO,
                guestDuration(guestStamps, "check", "check_done"),
                guestDuration(guestStamps, "copy", "copy_done"),
                Duration.ofNanos(boot.endNs() - boot.startNs()),
                console);
    }

    private static Duration guestDuration(Map<String, Double> stamps, String from, String to) {
        if (!stamps.containsKey(from) || !stamps.containsKey(to)) {
            return Duration.ZERO;
        }
        return Duration.ofMillis(Math.round((stamps.get(to) - stamps.get(from)) * 1000));
    }

    static String sha256(Path file, long lengthBytes) throws IOException {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        byte[] buf = new byte[1 << 20];
        try (InputStream in = Files.newInputStream(file)) {
            long left = lengthBytes;
            while (left > 0) {
                int n = in.read(buf, 0, (int) Math.min(buf.length, left));
                if (n < 0) {
                    throw new IOException(file + " is shorter than " + lengthBytes + " bytes");
                }
                md.update(buf, 0, n);
                left -= n;
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }

    /** The first offset below {@code lengthBytes} where the files differ, or -1. */
    static long firstDifference(Path a, Path b, long lengthBytes) throws IOException {
        byte[] x = new byte[1 << 20];
        byte[] y = new byte[1 << 20];
        try (InputStream ia = Files.newInputStream(a);
                InputStream ib = Files.newInputStream(b)) {
            for (long off = 0; off < lengthBytes; ) {
                int want = (int) Math.min(x.length, lengthBytes - off);
                int na = ia.readNBytes(x, 0, want);
                int nb = ib.readNBytes(y, 0, want);
                int mismatch = Arrays.mismatch(x, 0, na, y, 0, nb);
                if (mismatch >= 0) {
                    return off + mismatch;
                }
                if (na < want) {
                    return off + na;
                }
                off += want;
            }
        }
        return -1;
    }

    // ---------------------------------------------------------------- host choices

    /** KVM when /dev/kvm is usable and backed by hardware virtualisation (kvm_intel, kvm_amd), else TCG. */
    static String chooseAccel() {
        String forced = System.getProperty("raidd.kernel.accel", "auto");
        if (!forced.equals("auto")) {
            if (!forced.equals("kvm") && !forced.equals("tcg")) {
                throw new IllegalArgumentException("raidd.kernel.accel must be auto, kvm or tcg: " + forced);
            }
            return forced;
        }
        Path kvm = Path.of("/dev/kvm");
        boolean usable = Files.isReadable(kvm) && Files.isWritable(kvm);
        boolean hardware = Files.isDirectory(Path.of("/sys/module/kvm_intel"))
                || Files.isDirectory(Path.of("/sys/module/kvm_amd"));
        return usable && hardware ? "kvm" : "tcg";
    }

    /** The newest /boot/vmlinuz-VERSION that has md modules under /lib/modules/VERSION. */
    static String kernelVersion() throws IOException {
        String forced = System.getProperty("raidd.kernel.version");
        List<String> found = new ArrayList<>();
        List<String> usable = new ArrayList<>();
        try (Stream<Path> boot = Files.exists(Path.of("/boot")) ? Files.list(Path.of("/boot")) : Stream.empty()) {
            for (Path p : boot.toList()) {
                String name = p.getFileName().toString();
                if (!name.startsWith("vmlinuz-")) {
                    continue;
                }
                String version = name.substring("vmlinuz-".length());
                found.add(version);
                Path modules = Path.of("/lib/modules", version);
                if (Files.isDirectory(modules.resolve("kernel/drivers/md"))
                        && Files.isRegularFile(modules.resolve("modules.dep"))) {
                    usable.add(version);
                }
            }
        }
        if (forced != null) {
            if (!usable.contains(forced)) {
                fail("raidd.kernel.version=" + forced + ": no /boot/vmlinuz-" + forced
                        + " with md modules in /lib/modules/" + forced + " (usable: " + usable + ")");
            }
            return forced;
        }
        if (usable.isEmpty()) {
            fail("the md oracle needs a kernel image and its md modules: no /boot/vmlinuz-VERSION with"
                    + " /lib/modules/VERSION/kernel/drivers/md (found kernels " + found
                    + "; install linux-image-amd64)");
        }
        usable.sort(KernelMd::compareVersions);
        return usable.get(usable.size() - 1);
    }

    /** Numeric runs compare as numbers: 6.1.0-9 before 6.1.0-57 before 6.12.1. */
    static int compareVersions(String a, String b) {
        Matcher ma = Pattern.compile("\\d+|\\D+").matcher(a);
        Matcher mb = Pattern.compile("\\d+|\\D+").matcher(b);
        while (true) {
            boolean ha = ma.find();
            boolean hb = mb.find();
            if (!ha || !hb) {
                return Boolean.compare(ha, hb);
            }
            String x = ma.group();
            String y = mb.group();
            int c;
            if (Character.isDigit(x.charAt(0)) && Character.isDigit(y.charAt(0))) {
                c = new java.math.BigInteger(x).compareTo(new java.math.BigInteger(y));
            } else {
                c = x.compareTo(y);
            }
            if (c != 0) {
                return c;
            }
        }
    }

    // ---------------------------------------------------------------- cached kernel and initramfs

    /** The kernel to boot (an uncompressed vmlinux with a PVH entry when possible) and the initramfs. */
    record Artifacts(String version, Path kernel, Path initrd, String bootDescription) {
        private static Artifacts cached;

        static synchronized Artifacts get() throws IOException {
            if (cached == null) {
                cached = build();
            }
            return cached;
        }

        private static Artifacts build() throws IOException {
            String version = kernelVersion();
            Path image = Path.of("/boot", "vmlinuz-" + version);
            if (!Files.isReadable(image)) {
                fail(image + " is not readable by this user (some distributions make it root-only):"
                        + " run the tests as root, or chmod a+r it");
            }
            Path modules = Path.of("/lib/modules", version);
            Path mdadm = Path.of(Tools.require("mdadm", "mdadm"));
            Path busybox = busybox();
            byte[] init = initScript();

            String initrdKey = key(
                    ("format " + FORMAT + "\n" + new String(init, StandardCharsets.UTF_8)),
                    modules.resolve("modules.dep"),
                    mdadm,
                    busybox);
            String kernelKey = key("", image);
            Path dir = Path.of(System.getProperty("raidd.kernel.cache", "/tmp/raidd-kernel-md"), version);
            Files.createDirectories(dir);
            try (FileChannel lockFile =
                    FileChannel.open(dir.resolve(".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
                // Test JVMs running side by side build an entry once; the lock goes with the channel.
                lockFile.lock();
                Path initrd = dir.resolve("initrd-" + initrdKey + ".cpio.gz");
                if (!Files.exists(initrd)) {
                    long t0 = System.nanoTime();
                    deleteOthers(dir, "initrd-", initrd);
                    writeAtomically(initrd, out -> writeInitramfs(out, init, mdadm, busybox, modules));
                    System.out.printf(
                            "KernelMd: built %s (%d bytes) in %d ms%n",
                            initrd, Files.size(initrd), (System.nanoTime() - t0) / 1_000_000);
                }
                String bootMode = System.getProperty("raidd.kernel.boot", "auto");
                Path vmlinux = dir.resolve("vmlinux-" + kernelKey);
                Path noVmlinux = dir.resolve("vmlinux-" + kernelKey + ".unusable");
                if (!bootMode.equals("bzimage") && !Files.exists(vmlinux) && !Files.exists(noVmlinux)) {
                    long t0 = System.nanoTime();
                    deleteOthers(dir, "vmlinux-", vmlinux);
                    try {
                        byte[] elf = extractVmlinux(Files.readAllBytes(image));
                        writeAtomically(vmlinux, out -> out.write(elf));
                        System.out.printf(
                                "KernelMd: extracted %s (%d bytes, PVH entry) in %d ms%n",
                                vmlinux, elf.length, (System.nanoTime() - t0) / 1_000_000);
                    } catch (IOException e) {
                        // The bzImage boots too, only its decompression is slow under emulation.
                        Files.writeString(noVmlinux, e.getMessage() + "\n");
                        System.out.println("KernelMd: booting the bzImage: " + e.getMessage());
                    }
                }
                if (bootMode.equals("vmlinux") && !Files.exists(vmlinux)) {
                    fail("raidd.kernel.boot=vmlinux but " + Files.readString(noVmlinux));
                }
                return Files.exists(vmlinux) && !bootMode.equals("bzimage")
                        ? new Artifacts(version, vmlinux, initrd, "vmlinux via PVH")
                        : new Artifacts(version, image, initrd, "bzImage");
            }
        }
    }

    /** A short hash of {@code text} and the paths, sizes and times of {@code files}: a cache key. */
    private static String key(String text, Path... files) throws IOException {
        MessageDigest key = digest();
        key.update(text.getBytes(StandardCharsets.UTF_8));
        for (Path p : files) {
            key.update(("\n" + p + " " + Files.size(p) + " " + Files.getLastModifiedTime(p))
                    .getBytes(StandardCharsets.UTF_8));
        }
        return HexFormat.of().formatHex(key.digest()).substring(0, 12);
    }

    /** Earlier cache entries of the same kind (older inputs): the vmlinux alone is 60+ MiB. */
    private static void deleteOthers(Path dir, String prefix, Path keep) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : files.toList()) {
                String name = p.getFileName().toString();
                if (name.startsWith(prefix) && !p.getFileName().equals(keep.getFileName())) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    private interface Writer {
        void write(OutputStream out) throws IOException;
    }

    private static void writeAtomically(Path target, Writer writer) throws IOException {
        Path tmp = Files.createTempFile(target.getParent(), target.getFileName().toString(), ".tmp");
        try {
            try (OutputStream out = Files.newOutputStream(tmp)) {
                writer.write(out);
            }
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private static MessageDigest digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static byte[] initScript() throws IOException {
        try (InputStream in = KernelMd.class.getResourceAsStream(INIT_RESOURCE)) {
            if (in == null) {
                throw new IOException("resource " + INIT_RESOURCE + " is missing");
            }
            return in.readAllBytes();
        }
    }

    /** busybox: a static one (busybox-static) needs nothing else; a dynamic one gets its libraries like mdadm. */
    private static Path busybox() {
        for (String p : List.of("/bin/busybox", "/usr/bin/busybox")) {
            if (Files.isExecutable(Path.of(p))) {
                return Path.of(p);
            }
        }
        return Path.of(Tools.require("busybox", "busybox-static"));
    }

    private static void writeInitramfs(OutputStream raw, byte[] init, Path mdadm, Path busybox, Path modules)
            throws IOException {
        try (GZIPOutputStream gz = new GZIPOutputStream(raw, 1 << 16)) {
            Cpio cpio = new Cpio(gz);
            for (String d : List.of("bin", "sbin", "dev", "proc", "sys", "run", "tmp", "etc", "lib", "lib/modules")) {
                cpio.dir(d);
            }
            // The kernel opens /dev/console for /init's stdio before /init mounts devtmpfs.
            cpio.charDevice("dev/console", 5, 1);
            cpio.file("init", init, 0755);
            cpio.file("bin/busybox", Files.readAllBytes(busybox), 0755);
            cpio.file("sbin/mdadm", Files.readAllBytes(mdadm), 0755);
            Set<String> libs = new LinkedHashSet<>();
            libs.addAll(sharedLibraries(busybox));
            libs.addAll(sharedLibraries(mdadm));
            for (String lib : libs) {
                cpio.file(lib.substring(1), Files.readAllBytes(Path.of(lib)), 0755);
            }
            StringBuilder order = new StringBuilder();
            for (Map.Entry<String, Path> m : moduleLoadOrder(modules).entrySet()) {
                cpio.file("lib/modules/" + m.getKey() + ".ko", moduleBytes(m.getValue()), 0644);
                order.append(m.getKey()).append('\n');
            }
            cpio.file("lib/modules/order", order.toString().getBytes(StandardCharsets.UTF_8), 0644);
            cpio.trailer();
        }
    }

    /** The absolute paths ldd lists (libraries and the loader); none for a static executable. */
    static List<String> sharedLibraries(Path executable) throws IOException {
        Tools.Result r;
        try {
            r = Tools.run(Duration.ofSeconds(30), Tools.require("ldd", "libc-bin"), executable.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
        if (r.exitCode() != 0) {
            if ((r.stdout() + r.stderr()).contains("not a dynamic executable")) {
                return List.of();
            }
            fail(r.command() + " exited " + r.exitCode() + "\n" + r.stdout() + r.stderr());
        }
        List<String> libs = new ArrayList<>();
        Matcher m = Pattern.compile("(?m)(?:=> )?(/\\S+) \\(0x").matcher(r.stdout());
        while (m.find()) {
            libs.add(m.group(1));
        }
        return libs;
    }

    /**
     * Every module of {@link #MODULES} that is not built in, after the modules it depends on
     * (modules.dep), as name (underscores) to file.
     */
    static Map<String, Path> moduleLoadOrder(Path modulesDir) throws IOException {
        Map<String, String> fileOf = new LinkedHashMap<>();
        Map<String, List<String>> depsOf = new LinkedHashMap<>();
        for (String line : Files.readAllLines(modulesDir.resolve("modules.dep"))) {
            int colon = line.indexOf(':');
            if (colon < 0) {
                continue;
            }
            String file = line.substring(0, colon);
            String name = moduleName(file);
            fileOf.put(name, file);
            List<String> deps = new ArrayList<>();
            for (String d : line.substring(colon + 1).trim().split("\\s+")) {
                if (!d.isEmpty()) {
                    deps.add(moduleName(d));
                    fileOf.putIfAbsent(moduleName(d), d);
                }
            }
            depsOf.put(name, deps);
        }
        Set<String> builtin = new LinkedHashSet<>();
        Path builtinList = modulesDir.resolve("modules.builtin");
        if (Files.exists(builtinList)) {
            for (String line : Files.readAllLines(builtinList)) {
                builtin.add(moduleName(line.trim()));
            }
        }
        Map<String, Path> order = new LinkedHashMap<>();
        for (String wanted : MODULES) {
            if (fileOf.containsKey(wanted)) {
                visit(wanted, fileOf, depsOf, order, modulesDir, new LinkedHashSet<>());
            } else if (!builtin.contains(wanted)) {
                fail("module " + wanted + " is neither in " + modulesDir + "/modules.dep nor built in");
            }
        }
        return order;
    }

    private static void visit(
            String name,
            Map<String, String> fileOf,
            Map<String, List<String>> depsOf,
            Map<String, Path> order,
            Path modulesDir,
            Set<String> path) {
        if (order.containsKey(name)) {
            return;
        }
        if (!path.add(name)) {
            throw new IllegalStateException("module dependency cycle through " + path);
        }
        List<String> deps = new ArrayList<>(depsOf.getOrDefault(name, List.of()));
        // modprobe loads a module's list from its end: the innermost dependencies come last.
        java.util.Collections.reverse(deps);
        for (String d : deps) {
            visit(d, fileOf, depsOf, order, modulesDir, path);
        }
        path.remove(name);
        order.put(name, modulesDir.resolve(fileOf.get(name)));
    }

    static String moduleName(String file) {
        String base = file.substring(file.lastIndexOf('/') + 1);
        int ko = base.indexOf(".ko");
        return (ko < 0 ? base : base.substring(0, ko)).replace('-', '_');
    }

    /** The module's ELF: busybox insmod does not decompress. */
    private static byte[] moduleBytes(Path file) throws IOException {
        String name = file.getFileName().toString();
        if (name.endsWith(".ko")) {
            return Files.readAllBytes(file);
        }
        if (name.endsWith(".ko.gz")) {
            try (InputStream in = new GZIPInputStream(Files.newInputStream(file))) {
                return in.readAllBytes();
            }
        }
        if (name.endsWith(".ko.xz")) {
            return decompress(List.of(Tools.require("xz", "xz-utils"), "-dc", file.toString()), null);
        }
        if (name.endsWith(".ko.zst")) {
            return decompress(List.of(Tools.require("zstd", "zstd"), "-dc", file.toString()), null);
        }
        throw new IOException("cannot decompress module " + file);
    }

    private static byte[] decompress(List<String> command, byte[] input) throws IOException {
        Path in = null;
        Path out = Files.createTempFile("kernel-md-", ".out");
        try {
            ProcessBuilder pb = new ProcessBuilder(command)
                    .redirectOutput(out.toFile())
                    .redirectError(ProcessBuilder.Redirect.DISCARD);
            if (input != null) {
                in = Files.createTempFile("kernel-md-", ".in");
                Files.write(in, input);
                pb.redirectInput(in.toFile());
            } else {
                pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
            }
            Process p = pb.start();
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", command) + " did not finish");
            }
            if (p.exitValue() != 0) {
                throw new IOException(String.join(" ", command) + " exited " + p.exitValue());
            }
            return Files.readAllBytes(out);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        } finally {
            Files.deleteIfExists(out);
            if (in != null) {
                Files.deleteIfExists(in);
            }
        }
    }

    /**
     * The uncompressed kernel inside a bzImage, when it is an ELF with a PVH entry note that qemu
     * can boot directly: under emulation this saves the decompression, several seconds per boot.
     */
    static byte[] extractVmlinux(byte[] bzImage) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(bzImage).order(ByteOrder.LITTLE_ENDIAN);
        if (bzImage.length < 0x260 || b.getInt(0x202) != 0x53726448 /* "HdrS" */) {
            throw new IOException("not a bzImage (no HdrS)");
        }
        if ((b.getShort(0x206) & 0xffff) < 0x208) {
            throw new IOException("boot protocol before 2.08 has no payload fields");
        }
        int setupSects = bzImage[0x1f1] & 0xff;
        if (setupSects == 0) {
            setupSects = 4;
        }
        long payloadStart = (setupSects + 1L) * 512 + (b.getInt(0x248) & 0xffffffffL);
        long payloadLength = b.getInt(0x24c) & 0xffffffffL;
        if (payloadLength < 8 || payloadStart + payloadLength > bzImage.length) {
            throw new IOException("payload outside the image");
        }
        // The build appends the uncompressed size (u32, little-endian) after the compressed stream.
        byte[] compressed = Arrays.copyOfRange(bzImage, (int) payloadStart, (int) (payloadStart + payloadLength - 4));
        long expectedSize = b.getInt((int) (payloadStart + payloadLength - 4)) & 0xffffffffL;
        byte[] elf;
        if (startsWith(compressed, 0x1f, 0x8b)) {
            try (InputStream in = new GZIPInputStream(new java.io.ByteArrayInputStream(compressed))) {
                elf = in.readAllBytes();
            }
        } else if (startsWith(compressed, 0xfd, '7', 'z', 'X', 'Z', 0)) {
            elf = decompress(List.of(Tools.require("xz", "xz-utils"), "-dc", "--single-stream"), compressed);
        } else if (startsWith(compressed, 0x28, 0xb5, 0x2f, 0xfd)) {
            elf = decompress(List.of(Tools.require("zstd", "zstd"), "-dc"), compressed);
        } else {
            throw new IOException("kernel payload compression not handled (first bytes "
                    + HexFormat.of().formatHex(compressed, 0, 6) + ")");
        }
        if (elf.length != expectedSize) {
            throw new IOException("decompressed kernel is " + elf.length + " bytes, the image says " + expectedSize);
        }
        if (!hasPvhNote(elf)) {
            throw new IOException("the kernel has no PVH entry (XEN_ELFNOTE_PHYS32_ENTRY)");
        }
        return elf;
    }

    private static boolean startsWith(byte[] data, int... prefix) {
        if (data.length < prefix.length) {
            return false;
        }
        for (int i = 0; i < prefix.length; i++) {
            if ((data[i] & 0xff) != prefix[i]) {
                return false;
            }
        }
        return true;
    }

    /** An ELF64 PT_NOTE with name "Xen" and type 18 (XEN_ELFNOTE_PHYS32_ENTRY), as qemu's PVH loader wants. */
    static boolean hasPvhNote(byte[] elf) {
        ByteBuffer b = ByteBuffer.wrap(elf).order(ByteOrder.LITTLE_ENDIAN);
        if (elf.length < 64 || b.getInt(0) != 0x464c457f || elf[4] != 2 /* ELFCLASS64 */) {
            return false;
        }
        long phoff = b.getLong(0x20);
        int phentsize = b.getShort(0x36) & 0xffff;
        int phnum = b.getShort(0x38) & 0xffff;
        for (int i = 0; i < phnum; i++) {
            int ph = (int) (phoff + (long) i * phentsize);
            if (ph + 56 > elf.length || b.getInt(ph) != 4 /* PT_NOTE */) {
                continue;
            }
            long off = b.getLong(ph + 8);
            long end = off + b.getLong(ph + 32);
            while (off + 12 <= end && end <= elf.length) {
                int namesz = b.getInt((int) off);
                int descsz = b.getInt((int) off + 4);
                int type = b.getInt((int) off + 8);
                String name = new String(elf, (int) off + 12, Math.max(0, namesz - 1), StandardCharsets.US_ASCII);
                if (name.equals("Xen") && type == 18) {
                    return true;
                }
                off += 12 + ((namesz + 3) & ~3) + ((descsz + 3) & ~3);
            }
        }
        return false;
    }

    /** A newc ("070701") cpio archive, the format the kernel unpacks as initramfs. */
    static final class Cpio {
        private final OutputStream out;
        private int inode = 1;
        private final Set<String> dirs = new LinkedHashSet<>();

        Cpio(OutputStream out) {
            this.out = out;
        }

        void dir(String path) throws IOException {
            if (dirs.add(path)) {
                parents(path);
                entry(path, 0040755, new byte[0], 0, 0);
            }
        }

        void file(String path, byte[] data, int permissions) throws IOException {
            parents(path);
            entry(path, 0100000 | permissions, data, 0, 0);
        }

        void charDevice(String path, int major, int minor) throws IOException {
            parents(path);
            entry(path, 0020600, new byte[0], major, minor);
        }

        void trailer() throws IOException {
            entry("TRAILER!!!", 0, new byte[0], 0, 0);
            out.flush();
        }

        private void parents(String path) throws IOException {
            int slash = path.lastIndexOf('/');
            if (slash > 0) {
                dir(path.substring(0, slash));
            }
        }

        private void entry(String name, int mode, byte[] data, int rdevMajor, int rdevMinor) throws IOException {
            byte[] nameBytes = (name + "\0").getBytes(StandardCharsets.UTF_8);
            String header = String.format(
                    "070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
                    name.equals("TRAILER!!!") ? 0 : inode++,
                    mode,
                    0,
                    0,
                    (mode & 0170000) == 0040000 ? 2 : 1,
                    0,
                    data.length,
                    0,
                    0,
                    rdevMajor,
                    rdevMinor,
                    nameBytes.length,
                    0);
            ByteArrayOutputStream head = new ByteArrayOutputStream();
            head.write(header.getBytes(StandardCharsets.US_ASCII));
            head.write(nameBytes);
            while (head.size() % 4 != 0) {
                head.write(0);
            }
            head.writeTo(out);
            out.write(data);
            for (int pad = (4 - data.length % 4) % 4; pad > 0; pad--) {
                out.write(0);
            }
        }
    }

    private KernelMd() {}
}
