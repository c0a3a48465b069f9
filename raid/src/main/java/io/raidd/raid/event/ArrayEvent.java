package io.raidd.raid.event;

/**
 * One event: what happened, to which array and member, and a human-readable detail.
 *
 * @param type md's event name where md has one
 * @param array the array's name
 * @param member the member's path (or "slot N" when it has none), or empty when the event is about
 *     the whole array
 * @param detail one line for people; never parsed
 * @param epochMillis when it happened
 */
public record ArrayEvent(EventType type, String array, String member, String detail, long epochMillis) {

    public ArrayEvent {
        member = member == null ? "" : member;
        detail = detail == null ? "" : detail;
    }

    public static ArrayEvent of(EventType type, String array, String member, String detail) {
        return new ArrayEvent(type, array, member, detail, System.currentTimeMillis());
    }

    @Override
    public String toString() {
        return type + " " + array + (member.isEmpty() ? "" : " " + member) + (detail.isEmpty() ? "" : ": " + detail);
    }
}
