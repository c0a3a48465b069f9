package io.raidd.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The host-side pieces of the md oracle that need no VM: kernel choice, module order, cpio. */
class KernelMdTest {

    @Test
    void kernelVersionsCompareNumerically() {
        List<String> versions =
                new ArrayList<>(List.of("6.12.1-amd64", "6.1.0-57-amd64", "6.1.0-9-amd64", "5.10.0-30-amd64"));
        versions.sort(KernelMd::compareVersions);
        assertEquals(List.of("5.10.0-30-amd64", "6.1.0-9-amd64", "6.1.0-57-amd64", "6.12.1-amd64"), versions);
    }

    @Test
    void moduleNamesUseUnderscores() {
        assertEquals("md_mod", KernelMd.moduleName("kernel/drivers/md/md-mod.ko"));
        assertEquals("raid456", KernelMd.moduleName("kernel/drivers/md/raid456.ko.xz"));
        assertEquals("crc32c_generic", KernelMd.moduleName("kernel/crypto/crc32c_generic.ko.zst"));
    }

    @Test
    void modulesLoadAfterTheirDependenciesAndBuiltInsAreSkipped(@TempDir Path dir) throws IOException {
        Files.writeString(
                dir.resolve("modules.dep"),
                String.join(
                        "\n",
                        "kernel/drivers/virtio/virtio_ring.ko:",
                        "kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko",
                        "kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio.ko"
                                + " kernel/drivers/virtio/virtio_ring.ko",
                        "kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko"
                                + " kernel/drivers/virtio/virtio_ring.ko",
                        "kernel/crypto/crc32c_generic.ko:",
                        "kernel/drivers/md/md-mod.ko:",
                        "kernel/drivers/md/raid0.ko: kernel/drivers/md/md-mod.ko",
                        "kernel/drivers/md/raid1.ko: kernel/drivers/md/md-mod.ko",
                        "kernel/drivers/md/raid456.ko: kernel/crypto/async_tx/async_pq.ko kernel/crypto/async_tx/async_xor.ko"
                                + " kernel/crypto/async_tx/async_tx.ko kernel/drivers/md/md-mod.ko kernel/lib/libcrc32c.ko",
                        "kernel/crypto/async_tx/async_tx.ko:",
                        "kernel/crypto/async_tx/async_xor.ko: kernel/crypto/async_tx/async_tx.ko",
                        "kernel/crypto/async_tx/async_pq.ko: kernel/crypto/async_tx/async_xor.ko"
                                + " kernel/crypto/async_tx/async_tx.ko",
                        "kernel/lib/libcrc32c.ko:",
                        ""));
        // raid10 built in: nothing to load for it.
        Files.writeString(dir.resolve("modules.builtin"), "kernel/drivers/md/raid10.ko\n");
        List<String> order = new ArrayList<>(KernelMd.moduleLoadOrder(dir).keySet());
        assertEquals(
                List.of(
                        "virtio_ring",
                        "virtio",
                        "virtio_pci",
                        "virtio_blk",
                        "crc32c_generic",
                        "md_mod",
                        "raid0",
                        "raid1",
                        "libcrc32c",
                        "async_tx",
                        "async_xor",
                        "async_pq",
                        "raid456"),
                order);
        assertEquals(
                dir.resolve("kernel/drivers/md/md-mod.ko"),
                KernelMd.moduleLoadOrder(dir).get("md_mod"));
    }

    @Test
    void aModuleNeitherLoadableNorBuiltInFails(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("modules.dep"), "kernel/drivers/md/md-mod.ko:\n");
        assertThrows(AssertionError.class, () -> KernelMd.moduleLoadOrder(dir));
    }

    /** newc: 110-byte ASCII header, name and data each padded to 4 bytes, parents before children. */
    @Test
    void cpioIsNewcWithParentsFirst() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        KernelMd.Cpio cpio = new KernelMd.Cpio(out);
        cpio.file("lib/modules/x.ko", "abcde".getBytes(StandardCharsets.US_ASCII), 0644);
        cpio.charDevice("dev/console", 5, 1);
        cpio.trailer();
        byte[] bytes = out.toByteArray();
        List<String> names = new ArrayList<>();
        int pos = 0;
        while (true) {
            String header = new String(bytes, pos, 110, StandardCharsets.US_ASCII);
            assertTrue(header.startsWith("070701"), header);
            int mode = Integer.parseInt(header.substring(14, 22), 16);
            int size = Integer.parseInt(header.substring(54, 62), 16);
            int nameSize = Integer.parseInt(header.substring(94, 102), 16);
            String name = new String(bytes, pos + 110, nameSize - 1, StandardCharsets.US_ASCII);
            names.add(name + " " + Integer.toOctalString(mode));
            pos = align(pos + 110 + nameSize);
            if (name.equals("lib/modules/x.ko")) {
                assertEquals("abcde", new String(bytes, pos, size, StandardCharsets.US_ASCII));
            }
            pos = align(pos + size);
            if (name.equals("TRAILER!!!")) {
                break;
            }
        }
        assertEquals(bytes.length, pos);
        assertEquals(
                List.of(
                        "lib 40755",
                        "lib/modules 40755",
                        "lib/modules/x.ko 100644",
                        "dev 40755",
                        "dev/console 20600",
                        "TRAILER!!! 0"),
                names);
    }

    private static int align(int n) {
        return (n + 3) & ~3;
    }

    @Test
    void notABzImageIsRefused() {
        assertThrows(IOException.class, () -> KernelMd.extractVmlinux(new byte[4096]));
        assertFalse(KernelMd.hasPvhNote(new byte[4096]));
    }
}
