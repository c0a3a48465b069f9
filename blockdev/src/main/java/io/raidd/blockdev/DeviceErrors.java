package io.raidd.blockdev;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The one place that tells what kind of failure an I/O error is: the device is gone ({@link
 * DeviceGoneException}), the file system under it is full ({@link NoSpaceException}), or anything
 * else (a media error, kept as it is).
 *
 * <p>libc calls carry errno ({@link LibC.ErrnoException}). {@link java.nio.channels.FileChannel}
 * does not: its IOException's whole message is {@code strerror(errno)}, in the process's locale (the
 * JVM's launcher calls {@code setlocale(LC_ALL, "")}). So the texts are matched both in English and
 * as this process's own {@code strerror} says them.
 */
final class DeviceErrors {
    enum Kind {
        /** ENOENT, ENXIO, ENODEV, ESTALE: the file or device went away under an open descriptor. */
        GONE,
        /** ENOSPC, EDQUOT, EFBIG: the write needed space the file system does not have. */
        NO_SPACE,
        OTHER
    }

    private record Text(String text, int errno) {}

    private static final int[] CLASSIFIED_ERRNOS = {
        // Longer texts first: "No such device" is a prefix of "No such device or address".
        LibC.ENXIO, LibC.ENODEV, LibC.ENOENT, LibC.ESTALE, LibC.ENOSPC, LibC.EDQUOT, LibC.EFBIG
    };

    private static final class Texts {
        static final List<Text> ALL = build();

        private static List<Text> build() {
            List<Text> texts = new ArrayList<>();
            for (int errno : CLASSIFIED_ERRNOS) {
                texts.add(new Text(englishText(errno), errno));
            }
            try {
                for (int errno : CLASSIFIED_ERRNOS) {
                    String local = LibC.strerror(errno);
                    if (!local.equals(englishText(errno)) && !local.startsWith("errno ")) {
                        texts.add(new Text(local, errno));
                    }
                }
            } catch (LinkageError | RuntimeException e) {
                // No libc binding: the English texts still classify the usual case.
            }
            return List.copyOf(texts);
        }
    }

    private DeviceErrors() {}

    static Kind kindOfErrno(int errno) {
        return switch (errno) {
            case LibC.ENOENT, LibC.ENXIO, LibC.ENODEV, LibC.ESTALE -> Kind.GONE;
            case LibC.ENOSPC, LibC.EDQUOT, LibC.EFBIG -> Kind.NO_SPACE;
            default -> Kind.OTHER;
        };
    }

    /** The errno of a libc failure, or the one whose text a JDK exception's message holds; 0 if none. */
    static int errnoOf(IOException e) {
        if (e instanceof LibC.ErrnoException errnoException) {
            return errnoException.errno();
        }
        return errnoOfMessage(e.getMessage());
    }

    /** The classified errno whose {@code strerror} text the message contains, or 0. */
    static int errnoOfMessage(String message) {
        if (message == null) {
            return 0;
        }
        for (Text t : Texts.ALL) {
            if (message.contains(t.text())) {
                return t.errno();
            }
        }
        return 0;
    }

    static Kind kindOf(IOException e) {
        if (e instanceof DeviceGoneException) {
            return Kind.GONE;
        }
        if (e instanceof NoSpaceException) {
            return Kind.NO_SPACE;
        }
        return kindOfErrno(errnoOf(e));
    }

    /**
     * {@code e} as a {@link DeviceGoneException} or {@link NoSpaceException} when its errno says so
     * (the original is the cause), otherwise {@code e} itself. {@code what} names the operation and
     * the device, as in "write of 4096 bytes at offset 8192 on /srv/d3.img".
     */
    static IOException classify(IOException e, String deviceName, String what) {
        return switch (kindOf(e)) {
            case GONE ->
                e instanceof DeviceGoneException
                        ? e
                        : new DeviceGoneException(
                                deviceName + " vanished under raidd: " + what + " failed (" + e.getMessage() + ")", e);
            case NO_SPACE -> e instanceof NoSpaceException ? e : noSpace(e, what);
            case OTHER -> e;
        };
    }

    private static NoSpaceException noSpace(IOException e, String what) {
        int errno = errnoOf(e);
        String reason = errno == LibC.ENOSPC ? "" : " (" + englishText(errno) + ")";
        return new NoSpaceException(what + reason, e);
    }

    /** glibc's English {@code strerror} for the errnos classified here. */
    static String englishText(int errno) {
        return switch (errno) {
            case LibC.ENOENT -> "No such file or directory";
            case LibC.ENXIO -> "No such device or address";
            case LibC.ENODEV -> "No such device";
            case LibC.ESTALE -> "Stale file handle";
            case LibC.ENOSPC -> "No space left on device";
            case LibC.EDQUOT -> "Disk quota exceeded";
            case LibC.EFBIG -> "File too large";
            default -> "errno " + errno;
        };
    }
}
