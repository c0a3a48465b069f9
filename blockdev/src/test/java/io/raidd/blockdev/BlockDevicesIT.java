package io.raidd.blockdev;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Dispatch by file type; block devices themselves are covered by {@link LoopDeviceIT}. */
class BlockDevicesIT {
    @TempDir
    Path dir;

    @Test
    void regularFileOpensAsImage() throws IOException {
        Path image = dir.resolve("a.img");
        FileBlockDevice.create(image, 1 << 20).close();
        try (BlockDevice device = BlockDevices.open(image, true)) {
            assertInstanceOf(FileBlockDevice.class, device);
            assertTrue(device.isReadOnly());
            assertEquals(1 << 20, device.sizeBytes());
        }
    }

    @Test
    void symbolicLinkToAnImageIsFollowed() throws IOException {
        Path image = dir.resolve("a.img");
        FileBlockDevice.create(image, 4096).close();
        Path link = Files.createSymbolicLink(dir.resolve("link.img"), image);
        try (BlockDevice device = BlockDevices.open(link, false)) {
            assertInstanceOf(FileBlockDevice.class, device);
        }
    }

    @Test
    void everythingElseIsRefusedWithOneClearLine() throws Exception {
        assertThrows(NoSuchFileException.class, () -> BlockDevices.open(dir.resolve("missing"), false));
        assertMessage(dir, "is a directory");
        assertMessage(Paths.get("/dev/null"), "is a character device");
        Path fifo = dir.resolve("fifo");
        Process mkfifo =
                new ProcessBuilder("mkfifo", fifo.toString()).inheritIO().start();
        assertTrue(mkfifo.waitFor(30, TimeUnit.SECONDS) && mkfifo.exitValue() == 0, "mkfifo failed");
        assertMessage(fifo, "is not an image file or block device (file type 010000)");
    }

    @Test
    void createOrOpenImageCreatesThenReopensAndChecksTheSize() throws IOException {
        Path image = dir.resolve("member.img");
        try (BlockDevice created = BlockDevices.createOrOpenImage(image, 8 << 20)) {
            created.write(4096, ByteBuffer.wrap(new byte[] {42}));
        }
        assertEquals(0, FileBlockDeviceIT.allocatedBytes(image) % 512);
        try (BlockDevice reopened = BlockDevices.createOrOpenImage(image, 4 << 20)) {
            assertEquals(8 << 20, reopened.sizeBytes(), "an existing larger image is not shrunk");
            ByteBuffer back = ByteBuffer.allocate(1);
            reopened.read(4096, back);
            assertEquals(42, back.get(0), "reopening must not recreate the image");
        }
        IOException tooSmall = assertThrows(IOException.class, () -> BlockDevices.createOrOpenImage(image, 16 << 20));
        assertTrue(tooSmall.getMessage().contains("less than"), tooSmall.getMessage());
        assertEquals(8 << 20, Files.size(image), "a refused open must not grow the image");
    }

    private static void assertMessage(Path path, String expected) {
        IOException e = assertThrows(IOException.class, () -> BlockDevices.open(path, false));
        assertTrue(e.getMessage().contains(expected), e.getMessage());
        assertTrue(e.getMessage().contains(path.toString()), e.getMessage());
        assertEquals(-1, e.getMessage().indexOf('\n'), "one line: " + e.getMessage());
    }
}
