package io.raidd.raid.member;

import io.raidd.raid.event.ArrayEvent;
import io.raidd.raid.event.EventSink;
import io.raidd.raid.event.EventType;
import io.raidd.raid.layout.Geometry;
import io.raidd.raid.layout.Redundancy;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.List;

/**
 * The members of one array and the one place their states change. Every transition is made here,
 * made durable through {@link ArrayMetadata} before the caller goes on, and announced as an {@link
 * ArrayEvent}. Readers take a {@link Roster}: an immutable picture of who holds which slot, replaced
 * on every transition, so one stripe operation can decide everything from one picture.
 */
public final class MemberLifecycle implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger("io.raidd.raid");

    private final String arrayName;
    private final Geometry geometry;
    private final ArrayMetadata metadata;
    private final EventSink events;
    private final long timeoutNs;
    private volatile Roster roster;

    public MemberLifecycle(
            String arrayName,
            Geometry geometry,
            List<Member> members,
            ArrayMetadata metadata,
            EventSink events,
            long timeoutNs) {
        this.arrayName = arrayName;
        this.geometry = geometry;
        Member[] primary = members.toArray(new Member[0]);
        for (int i = 0; i < primary.length; i++) {
            if (primary[i].slot() != i) {
                throw new IllegalArgumentException("member at index " + i + " has slot " + primary[i].slot());
            }
        }
        this.metadata = metadata;
        this.events = events;
        this.timeoutNs = timeoutNs;
        this.roster = new Roster(primary);
    }

    public String arrayName() {
        return arrayName;
    }

    public Geometry geometry() {
        return geometry;
    }

    /** Who holds which slot now; take it once per decision. */
    public Roster roster() {
        return roster;
    }

    public int count() {
        return geometry.raidDisks();
    }

    public Member get(int slot) {
        return roster.primary(slot);
    }

    public long timeoutNs() {
        return timeoutNs;
    }

    public ArrayMetadata metadata() {
        return metadata;
    }

    public EventSink events() {
        return events;
    }

    /** Members by slot (missing slots included). */
    public List<Member> all() {
        return roster.primaries();
    }

    /** Every member that holds a device and is not faulty. */
    public List<Member> liveMembers() {
        List<Member> out = new ArrayList<>();
        for (Member m : roster.primaries()) {
            if (m.live()) {
                out.add(m);
            }
        }
        return out;
    }

    /** Members in sync (ACTIVE). */
    public int activeCount() {
        return roster.activeCount();
    }

    /** True while every byte can be read from members in sync. */
    public boolean complete() {
        Roster r = roster;
        return Redundancy.complete(geometry, slot -> r.primary(slot).state() == MemberState.ACTIVE);
    }

    /**
     * Fails {@code member} (unless already faulty or missing) and records it durably. Thread-safe;
     * the metadata update for a member happens once.
     */
    public void fail(Member member, String reason) throws IOException {
        boolean degradedNow;
        synchronized (this) {
            boolean wasComplete = roster.activeCount() == count();
            if (!member.markFaulty(reason)) {
                return;
            }
            roster = roster.changed();
            LOG.log(
                    Level.WARNING,
                    "array {0}: member {1} (slot {2}) failed: {3}; {4} of {5} members remain",
                    arrayName,
                    member.name(),
                    member.slot(),
                    reason,
                    roster.activeCount(),
                    count());
            metadata.memberFailed(member.slot(), reason);
            degradedNow = wasComplete;
        }
        events.emit(ArrayEvent.of(EventType.Fail, arrayName, member.name(), reason));
        if (degradedNow) {
            events.emit(ArrayEvent.of(
                    EventType.DegradedArray,
                    arrayName,
                    member.name(),
                    roster.activeCount() + " of " + count() + " members active"));
        }
    }

    /**
     * Fails the member of every failed write, zero or flush, and of every timeout. Read errors are
     * left to the caller, which reconstructs and rewrites the block (md's read-error correction).
     */
    public void failMembers(List<IoBatch.Op> failed) throws IOException {
        for (IoBatch.Op op : failed) {
            if (op.kind != IoBatch.Kind.READ || op.timedOut) {
                fail(op.member, op.describe());
            }
        }
    }

    @Override
    public void close() throws IOException {
        IOException first = null;
        for (Member m : roster.primaries()) {
            try {
                m.close();
            } catch (IOException e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }
}
