package io.raidd.cli;

import java.util.logging.ConsoleHandler;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.Logger;
import java.util.logging.SimpleFormatter;

/** One line per event on standard error: time, level, source, message. */
final class Logging {
    private Logging() {}

    static void configure(boolean verbose) {
        System.setProperty("java.util.logging.SimpleFormatter.format", "%1$tFT%1$tT.%1$tLZ %4$s %3$s: %5$s%6$s%n");
        LogManager.getLogManager().reset();
        Logger root = Logger.getLogger("");
        ConsoleHandler handler = new ConsoleHandler();
        handler.setFormatter(new SimpleFormatter());
        Level level = verbose ? Level.FINE : Level.INFO;
        handler.setLevel(level);
        root.setLevel(level);
        root.addHandler(handler);
        // Netty is chatty at FINE; its warnings still show.
        Logger.getLogger("io.netty").setLevel(Level.WARNING);
    }
}
