package io.raidd.raid.md;

import java.io.IOException;

/** An array that cannot be started; the message says why and what would let it start. */
public final class AssemblyException extends IOException {
    private static final long serialVersionUID = 1L;

    public AssemblyException(String message) {
        super(message);
    }
}
