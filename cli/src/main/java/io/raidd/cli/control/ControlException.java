package io.raidd.cli.control;

/** A control request that was refused or failed; the message is one line for the operator. */
public final class ControlException extends Exception {
    public ControlException(String message) {
        super(message);
    }
}
