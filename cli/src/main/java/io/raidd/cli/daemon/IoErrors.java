package io.raidd.cli.daemon;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;

/**
 * Why an I/O call failed, in words, without the path: the NIO file exceptions carry only the path
 * as their message ("raidctl: /proc/x.img" says nothing), and callers name the path themselves.
 */
public final class IoErrors {
    private IoErrors() {}

    public static String reason(IOException e) {
        if (e instanceof FileSystemException f) {
            if (f.getReason() != null) {
                return f.getReason();
            }
            if (f instanceof NoSuchFileException) {
                return "no such file or directory";
            }
            if (f instanceof AccessDeniedException) {
                return "permission denied";
            }
            if (f instanceof FileAlreadyExistsException) {
                return "file exists";
            }
            if (f instanceof NotDirectoryException) {
                return "not a directory";
            }
            return f.getClass().getSimpleName();
        }
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }

    /** {@link #reason(IOException)} for I/O errors, the message for anything else. */
    public static String reason(Exception e) {
        if (e instanceof IOException io) {
            return reason(io);
        }
        return e.getMessage() == null ? e.toString() : e.getMessage();
    }
}
