package io.raidd.raid.event;

/**
 * Where events go. The daemon fans them out (log, {@code raidctl monitor}, the event program);
 * emitting never blocks on a slow listener and never throws.
 */
@FunctionalInterface
public interface EventSink {
    void emit(ArrayEvent event);

    EventSink NONE = event -> {};
}
