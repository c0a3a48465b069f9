package io.raidd.cli;

import sun.misc.Signal;

/**
 * SIGTERM and SIGINT as a request to stop. Replacing the JVM's own handlers keeps shutdown in our
 * hands (ordered close, then exit status 0) instead of racing shutdown hooks.
 */
final class Signals {
    private Signals() {}

    static void onTerminate(Runnable action) {
        Signal.handle(new Signal("TERM"), s -> action.run());
        Signal.handle(new Signal("INT"), s -> action.run());
    }
}
