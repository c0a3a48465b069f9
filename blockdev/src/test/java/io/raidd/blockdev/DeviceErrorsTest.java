package io.raidd.blockdev;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** Which errno, and which FileChannel message text, becomes which kind of failure. */
class DeviceErrorsTest {
    private static final String DEVICE = "/srv/d3.img";
    private static final String WHAT = "write of 4096 bytes at offset 8192 on /srv/d3.img";

    @Test
    void errnosHaveTheirKinds() {
        for (int errno : new int[] {LibC.ENOENT, LibC.ENXIO, LibC.ENODEV, LibC.ESTALE}) {
            assertEquals(DeviceErrors.Kind.GONE, DeviceErrors.kindOfErrno(errno), "errno " + errno);
        }
        for (int errno : new int[] {LibC.ENOSPC, LibC.EDQUOT, LibC.EFBIG}) {
            assertEquals(DeviceErrors.Kind.NO_SPACE, DeviceErrors.kindOfErrno(errno), "errno " + errno);
        }
        for (int errno : new int[] {0, 5 /* EIO */, LibC.EINVAL, LibC.EOPNOTSUPP, LibC.EBUSY}) {
            assertEquals(DeviceErrors.Kind.OTHER, DeviceErrors.kindOfErrno(errno), "errno " + errno);
        }
    }

    /** FileChannel's IOException is strerror's text and nothing else. */
    @Test
    void fileChannelMessagesAreClassifiedByTheirText() {
        assertEquals(LibC.ENOSPC, DeviceErrors.errnoOfMessage("No space left on device"));
        assertEquals(LibC.EDQUOT, DeviceErrors.errnoOfMessage("Disk quota exceeded"));
        assertEquals(LibC.EFBIG, DeviceErrors.errnoOfMessage("File too large"));
        assertEquals(LibC.ENODEV, DeviceErrors.errnoOfMessage("No such device"));
        assertEquals(LibC.ENXIO, DeviceErrors.errnoOfMessage("No such device or address"));
        assertEquals(LibC.ENOENT, DeviceErrors.errnoOfMessage("No such file or directory"));
        assertEquals(LibC.ESTALE, DeviceErrors.errnoOfMessage("Stale file handle"));
        assertEquals(0, DeviceErrors.errnoOfMessage("Input/output error"));
        assertEquals(0, DeviceErrors.errnoOfMessage(null));
    }

    /** The JVM's strerror speaks the process's locale; whatever it says must classify the same. */
    @Test
    void thisProcesssOwnStrerrorTextsClassifyToo() {
        for (int errno :
                new int[] {LibC.ENOENT, LibC.ENXIO, LibC.ENODEV, LibC.ESTALE, LibC.ENOSPC, LibC.EDQUOT, LibC.EFBIG}) {
            assertEquals(errno, DeviceErrors.errnoOfMessage(LibC.strerror(errno)), LibC.strerror(errno));
        }
    }

    @Test
    void noSpaceMessagesStartAsTheNbdServerExpects() {
        for (String text : new String[] {"No space left on device", "Disk quota exceeded", "File too large"}) {
            IOException original = new IOException(text);
            NoSpaceException e =
                    assertInstanceOf(NoSpaceException.class, DeviceErrors.classify(original, DEVICE, WHAT));
            assertTrue(e.getMessage().startsWith("No space left on device: " + WHAT), e.getMessage());
            assertSame(original, e.getCause());
            if (!text.startsWith("No space")) {
                assertTrue(e.getMessage().endsWith("(" + text + ")"), e.getMessage());
            }
        }
        IOException errno = LibC.error("fallocate(mode=0x3, 0, 4096)", Path.of(DEVICE), LibC.EDQUOT);
        NoSpaceException e = assertInstanceOf(NoSpaceException.class, DeviceErrors.classify(errno, DEVICE, WHAT));
        assertEquals("No space left on device: " + WHAT + " (Disk quota exceeded)", e.getMessage());
    }

    @Test
    void vanishedDevicesAreGoneAndNamed() {
        for (String text : new String[] {
            "No such device", "No such device or address", "No such file or directory", "Stale file handle"
        }) {
            DeviceGoneException e = assertInstanceOf(
                    DeviceGoneException.class, DeviceErrors.classify(new IOException(text), DEVICE, WHAT));
            assertEquals(DEVICE + " vanished under raidd: " + WHAT + " failed (" + text + ")", e.getMessage());
        }
        IOException errno = LibC.error("ioctl(BLKZEROOUT, 0, 4096)", Path.of("/dev/sdz"), LibC.ENODEV);
        assertInstanceOf(DeviceGoneException.class, DeviceErrors.classify(errno, "/dev/sdz", WHAT));
    }

    @Test
    void otherErrorsAndClassifiedOnesPassUnchanged() {
        IOException eio = new IOException("Input/output error");
        assertSame(eio, DeviceErrors.classify(eio, DEVICE, WHAT));
        IOException noMessage = new IOException();
        assertSame(noMessage, DeviceErrors.classify(noMessage, DEVICE, WHAT));
        IOException errnoEio = LibC.error("fallocate", Path.of(DEVICE), 5);
        assertSame(errnoEio, DeviceErrors.classify(errnoEio, DEVICE, WHAT));
        DeviceGoneException gone = new DeviceGoneException("d3.img shrank from 4096 to 0 bytes under raidd");
        assertSame(gone, DeviceErrors.classify(gone, DEVICE, WHAT));
        NoSpaceException full = new NoSpaceException("somewhere");
        assertSame(full, DeviceErrors.classify(full, DEVICE, WHAT));
        assertEquals("No space left on device: somewhere", full.getMessage());
    }
}
