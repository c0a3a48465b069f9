package io.raidd.raid.member;

import java.io.IOException;

/**
 * Thrown on a thread whose operation was given up because one of its member I/Os overran the
 * member timeout: another thread has run the operation again and answered for it, so whatever this
 * thread still had to do is dropped.
 */
public final class AbandonedOperationException extends IOException {
    public AbandonedOperationException(String message) {
        super(message);
    }
}
