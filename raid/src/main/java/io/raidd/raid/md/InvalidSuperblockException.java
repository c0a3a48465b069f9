package io.raidd.raid.md;

import java.io.IOException;

/** A member's metadata cannot be used; the message says what is wrong in one line. */
public final class InvalidSuperblockException extends IOException {
    private static final long serialVersionUID = 1L;

    public InvalidSuperblockException(String message) {
        super(message);
    }
}
