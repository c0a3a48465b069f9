package io.raidd.raid.member;

import io.raidd.blockdev.BlockDevice;
import io.raidd.blockdev.DeviceGoneException;
import io.raidd.blockdev.NoSpaceException;
import io.raidd.raid.event.ArrayEvent;
import io.raidd.raid.event.EventSink;
import io.raidd.raid.event.EventType;
import io.raidd.raid.layout.Geometry;
import io.raidd.raid.layout.Redundancy;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The members of one array and the one place their states change: fail, add (a spare, or a member
 * rebuilding at once into a degraded array), start a rebuild, record rebuild progress, mark in
 * sync, hot replace, remove. Every transition is made durable through {@link ArrayMetadata} before
 * the caller goes on, and announced as an {@link ArrayEvent}. Readers take a {@link Roster}: an
 * immutable picture of who holds which slot, replaced on every transition.
 *
 * <p>Transitions happen under this object's monitor, one at a time, including their metadata
 * writes. Rebuild progress ({@link #recovered}) is the one change made without it: it only ever
 * makes more of a member readable, and the rebuild makes it under the lock of the stripe it covers.
 */
public final class MemberLifecycle implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger("io.raidd.raid");

    private final String arrayName;
    private final Geometry geometry;
    private final ArrayMetadata metadata;
    private final EventSink events;
    private final long timeoutNs;
    private final int ioThreadsPerMember;
    private final List<Runnable> rebuildListeners = new CopyOnWriteArrayList<>();
    private volatile Roster roster;

    // Mutable state behind the roster; changed only under the monitor.
    private final Member[] primary;
    private final Member[] replacement;
    private final List<Member> others = new ArrayList<>();

    public MemberLifecycle(
            String arrayName,
            Geometry geometry,
            List<Member> primaries,
            List<Member> replacements,
            List<Member> spares,
            ArrayMetadata metadata,
            EventSink events,
            long timeoutNs,
            int ioThreadsPerMember) {
        this.arrayName = arrayName;
        this.geometry = geometry;
        this.primary = primaries.toArray(new Member[0]);
        this.replacement = new Member[primary.length];
        for (int i = 0; i < primary.length; i++) {
            if (primary[i].slot() != i) {
                throw new IllegalArgumentException("member at index " + i + " has slot " + primary[i].slot());
            }
        }
        for (Member r : replacements) {
            if (replacement[r.slot()] != null || r.state() != MemberState.REBUILDING) {
                throw new IllegalArgumentException("bad replacement " + r);
            }
            replacement[r.slot()] = r;
        }
        others.addAll(spares);
        this.metadata = metadata;
        this.events = events;
        this.timeoutNs = timeoutNs;
        this.ioThreadsPerMember = ioThreadsPerMember;
        publish();
    }

    private volatile TagCache tagCache;
    private volatile boolean verifyReads = true;

    /**
     * Gives every member with integrity tags on its device ({@link ArrayMetadata#tagsLocation})
     * their in-memory form, held in {@code cache}; members added later get theirs as they join.
     */
    public void integrity(TagCache cache, boolean verifyReads) throws IOException {
        this.tagCache = cache;
        this.verifyReads = verifyReads;
        for (Member m : roster.everyMember()) {
            attachTags(m);
        }
    }

    /** Whether ordinary reads check the members' integrity tags. */
    public boolean verifyReads() {
        return verifyReads;
    }

    public TagCache tagCache() {
        return tagCache;
    }

    private void attachTags(Member m) throws IOException {
        TagCache cache = tagCache;
        if (cache == null || m.device() == null || m.tags() != null) {
            return;
        }
        m.verifyReads(verifyReads);
        ArrayMetadata.TagsLocation where = metadata.tagsLocation(m);
        if (where != null) {
            IntegrityTags tags = new IntegrityTags(
                    m.name(), m.device(), m.dataOffsetBytes(), where.dataBytes(), where.tagsOffsetBytes(), cache);
            tags.listener(new IntegrityTags.Listener() {
                @Override
                public void found(long[] blockOffsetsBytes) {
                    events.emit(ArrayEvent.of(
                            EventType.CorruptionFound,
                            arrayName,
                            m.name(),
                            blockOffsetsBytes.length + " block(s) do not match their integrity tags: "
                                    + describeBlocks(m, blockOffsetsBytes)));
                }

                @Override
                public void repaired(long blockOffsetBytes) {
                    events.emit(ArrayEvent.of(
                            EventType.CorruptionRepaired,
                            arrayName,
                            m.name(),
                            "rewritten: " + describeBlocks(m, new long[] {blockOffsetBytes})));
                }
            });
            m.attachTags(tags);
        }
    }

    /** "member offset 8192 (volume offset 1056768)" for each block, P/Q named as such; at most 8. */
    private String describeBlocks(Member m, long[] blockOffsetsBytes) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < blockOffsetsBytes.length && i < 8; i++) {
            io.raidd.raid.layout.Geometry.MemberByte where = geometry.memberByte(m.slot(), blockOffsetsBytes[i]);
            sb.append(i == 0 ? "" : ", ")
                    .append("member offset ")
                    .append(blockOffsetsBytes[i])
                    .append(
                            switch (where.kind()) {
                                case DATA -> " (volume offset " + where.volumeOffsetBytes() + ")";
                                case P -> " (P)";
                                case Q -> " (Q)";
                                case UNUSED -> "";
                            });
        }
        if (blockOffsetsBytes.length > 8) {
            sb.append(", ...");
        }
        return sb.toString();
    }

    private void publish() {
        roster = new Roster(primary, replacement, others);
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

    /** Every member that takes writes: primaries and replacements that are not faulty. */
    public List<Member> liveMembers() {
        List<Member> out = new ArrayList<>();
        for (Member m : roster.everyMember()) {
            if (m.live()) {
                out.add(m);
            }
        }
        return out;
    }

    /** Primaries in sync (ACTIVE). */
    public int activeCount() {
        return roster.activeCount();
    }

    /** True while every byte can be read from members in sync. */
    public boolean complete() {
        Roster r = roster;
        return Redundancy.complete(geometry, slot -> r.state(slot) == MemberState.ACTIVE);
    }

    /** Called (outside any lock) whenever a member starts rebuilding, so someone runs the rebuild. */
    public void onRebuildNeeded(Runnable listener) {
        rebuildListeners.add(listener);
    }

    private void rebuildNeeded() {
        for (Runnable r : rebuildListeners) {
            r.run();
        }
    }

    /**
     * The member an operator means: a slot number (its primary), a path as given to the daemon, or
     * the same file named another way.
     *
     * @throws IllegalArgumentException with a one-line reason when there is none
     */
    public Member find(String reference) {
        Roster r = roster;
        if (reference.matches("\\d+")) {
            int slot = Integer.parseInt(reference);
            if (slot >= r.slots()) {
                throw new IllegalArgumentException(
                        "array " + arrayName + " has slots 0.." + (r.slots() - 1) + ", not " + slot);
            }
            return r.primary(slot);
        }
        for (Member m : r.everyMember()) {
            if (m.device() != null && m.name().equals(reference)) {
                return m;
            }
        }
        Path wanted = Path.of(reference).toAbsolutePath().normalize();
        for (Member m : r.everyMember()) {
            if (m.device() != null
                    && Path.of(m.name()).toAbsolutePath().normalize().equals(wanted)) {
                return m;
            }
        }
        throw new IllegalArgumentException("array " + arrayName + " has no member " + reference);
    }

    // -------------------------------------------------------------------------------- transitions

    /**
     * Fails {@code member} (unless already faulty or missing) because of an I/O error, a timeout or
     * a vanished device, and records it durably. Thread-safe; happens once per member.
     */
    public void fail(Member member, String reason) throws IOException {
        fail(member, reason, EventType.Fail);
    }

    /** As {@link #fail(Member, String)}, announced as {@code type} (e.g. DeviceDisappeared). */
    public void fail(Member member, String reason, EventType type) throws IOException {
        List<ArrayEvent> announce = new ArrayList<>();
        boolean rebuild;
        synchronized (this) {
            boolean wasComplete = roster.activeCount() == count();
            MemberState before = member.state();
            if (!member.markFaulty(reason)) {
                return;
            }
            int slot = member.slot();
            if (before == MemberState.SPARE) {
                type = type == EventType.Fail ? EventType.FailSpare : type;
            } else if (slot >= 0 && replacement[slot] == member) {
                // A replacement that fails leaves the original as it was.
                replacement[slot] = null;
                member.detach();
                others.add(member);
            } else if (slot >= 0 && primary[slot] == member && replacement[slot] != null) {
                // The original died during a hot replace: its replacement carries on as the slot's
                // member, rebuilt from redundancy from where it has got to (as md does).
                primary[slot] = replacement[slot];
                replacement[slot] = null;
                member.detach();
                others.add(member);
            }
            publish();
            LOG.log(
                    Level.WARNING,
                    "array {0}: member {1} ({2}) failed: {3}; {4} of {5} members in sync",
                    arrayName,
                    member.name(),
                    slot >= 0 ? "slot " + slot : "spare",
                    reason,
                    roster.activeCount(),
                    count());
            metadata.memberFailed(member, reason);
            announce.add(ArrayEvent.of(type, arrayName, member.name(), reason));
            if (wasComplete && roster.activeCount() < count()) {
                announce.add(ArrayEvent.of(
                        EventType.DegradedArray,
                        arrayName,
                        member.name(),
                        roster.activeCount() + " of " + count() + " members in sync"));
            }
            rebuild = promoteSpares(announce);
        }
        announce.forEach(events::emit);
        if (rebuild) {
            rebuildNeeded();
        }
    }

    /** Fails the members whose metadata writes timed out (their disks hang). */
    public void failUnresponsive() throws IOException {
        for (BlockDevice d : metadata.unresponsive()) {
            for (Member m : roster.everyMember()) {
                if (m.device() == d) {
                    fail(m, "its superblock write timed out after " + timeoutNs / 1_000_000 + " ms");
                }
            }
        }
    }

    /**
     * Fails a member on an operator's request. Refused, with the reason, when the member holds data
     * the array cannot do without.
     */
    public String failByOperator(Member member) throws IOException {
        synchronized (this) {
            MemberState s = member.state();
            if (s == MemberState.FAULTY || s == MemberState.MISSING) {
                throw new IllegalArgumentException(member.name() + " is already " + s.label());
            }
            int slot = member.slot();
            if (s == MemberState.ACTIVE && primary[slot] == member && replacement[slot] == null) {
                Roster r = roster;
                if (!Redundancy.completeWithout(geometry, i -> r.state(i) == MemberState.ACTIVE, slot)) {
                    throw new IllegalArgumentException("failing " + member.name() + " would lose data: RAID-"
                            + geometry.level() + " " + arrayName + " has " + r.activeCount() + " of " + count()
                            + " members in sync and cannot lose slot " + slot);
                }
            }
        }
        fail(member, "failed by the operator");
        return member.name() + " marked faulty";
    }

    /**
     * Adds a new device: a spare, which starts rebuilding at once into the lowest slot without a
     * member in sync. The device's metadata is written before this returns.
     */
    public Member add(String name, BlockDevice device) throws IOException {
        long dataOffset = prepare(name, device);
        Member m = Member.newSpare(name, device, dataOffset, ioThreadsPerMember);
        List<ArrayEvent> announce = new ArrayList<>();
        boolean rebuild;
        synchronized (this) {
            try {
                metadata.memberAdded(m);
                attachTags(m);
            } catch (IOException | RuntimeException e) {
                m.closeThreads();
                throw e;
            }
            others.add(m);
            publish();
            LOG.log(Level.INFO, "array {0}: {1} added as a spare", arrayName, name);
            announce.add(ArrayEvent.of(EventType.MemberAdded, arrayName, name, "added as a spare"));
            rebuild = promoteSpares(announce);
        }
        announce.forEach(events::emit);
        if (rebuild) {
            rebuildNeeded();
        }
        return m;
    }

    /**
     * Hot replace (md's want_replacement): {@code device} is rebuilt as {@code old}'s replacement
     * while {@code old} keeps serving; when the rebuild finishes it takes the slot and {@code old}
     * leaves the array. Redundancy never drops below what it was.
     */
    public Member replace(Member old, String name, BlockDevice device) throws IOException {
        synchronized (this) {
            int slot = old.slot();
            if (old.state() != MemberState.ACTIVE || slot < 0 || primary[slot] != old) {
                throw new IllegalArgumentException(
                        old.name() + " is " + old.state().label() + ", not an active member: only an active member"
                                + " is replaced (a faulty one is rebuilt by adding a spare)");
            }
            if (replacement[slot] != null) {
                throw new IllegalArgumentException(
                        old.name() + " is already being replaced by " + replacement[slot].name());
            }
        }
        long dataOffset = prepare(name, device);
        Member m = Member.newSpare(name, device, dataOffset, ioThreadsPerMember);
        List<ArrayEvent> announce = new ArrayList<>();
        synchronized (this) {
            int slot = old.slot();
            if (old.state() != MemberState.ACTIVE || slot < 0 || primary[slot] != old || replacement[slot] != null) {
                m.closeThreads();
                throw new IllegalArgumentException(old.name() + " changed while " + name + " was prepared; try again");
            }
            m.startRebuild(slot, 0);
            try {
                metadata.memberAdded(m);
                attachTags(m);
            } catch (IOException | RuntimeException e) {
                m.closeThreads();
                throw e;
            }
            replacement[slot] = m;
            publish();
            LOG.log(Level.INFO, "array {0}: {1} replaces {2} in slot {3}", arrayName, name, old.name(), slot);
            announce.add(ArrayEvent.of(EventType.MemberAdded, arrayName, name, "added to replace " + old.name()));
            announce.add(ArrayEvent.of(EventType.ReplaceStarted, arrayName, name, "replacing " + old.name()));
        }
        announce.forEach(events::emit);
        rebuildNeeded();
        return m;
    }

    /** Refuses a device that is already one of ours or too small; returns its data offset. */
    private long prepare(String name, BlockDevice device) throws IOException {
        for (Member m : roster.everyMember()) {
            if (m.device() == device) {
                throw new IllegalArgumentException(name + " is already a member of array " + arrayName);
            }
        }
        long dataOffset = metadata.planNewMember(name, device);
        long needed = dataOffset + geometry.memberUsedBytes();
        if (device.sizeBytes() < needed) {
            throw new IllegalArgumentException(
                    name + " is too small: " + device.sizeBytes() + " bytes, array " + arrayName + " needs " + needed);
        }
        return dataOffset;
    }

    /**
     * Gives every slot without a member in sync (lowest first, as md) a spare to rebuild into.
     * Caller holds the monitor; returns whether a rebuild started.
     */
    private boolean promoteSpares(List<ArrayEvent> announce) throws IOException {
        boolean started = false;
        for (int slot = 0; slot < primary.length; slot++) {
            MemberState s = primary[slot].state();
            if (s != MemberState.FAULTY && s != MemberState.MISSING) {
                continue;
            }
            Member spare = null;
            for (Member m : others) {
                if (m.state() == MemberState.SPARE) {
                    spare = m;
                    break;
                }
            }
            if (spare == null) {
                break;
            }
            Member old = primary[slot];
            others.remove(spare);
            spare.startRebuild(slot, 0);
            primary[slot] = spare;
            if (old.device() != null) {
                old.detach();
                others.add(old);
            }
            publish();
            metadata.rebuildStarted(spare);
            LOG.log(Level.INFO, "array {0}: rebuilding {1} into slot {2}", arrayName, spare.name(), slot);
            announce.add(ArrayEvent.of(EventType.RebuildStarted, arrayName, spare.name(), "rebuilding slot " + slot));
            started = true;
        }
        return started;
    }

    /**
     * Rebuild progress: {@code member} holds current data below {@code bytes} (in its data area).
     * The rebuild calls this under the lock of the last stripe it covers; progress only grows.
     * Announces Rebuild20/40/60/80 as the member passes them.
     */
    public void recovered(Member member, long bytes) {
        long total = geometry.memberUsedBytes();
        int before = (int) (Math.min(member.recoveredBytes(), total) * 100 / Math.max(1, total));
        member.recovered(bytes);
        int after = (int) (Math.min(bytes, total) * 100 / Math.max(1, total));
        for (int p = (before / 20 + 1) * 20; p <= after && p < 100; p += 20) {
            events.emit(ArrayEvent.of(EventType.rebuildProgress(p), arrayName, member.name(), p + "% rebuilt"));
        }
    }

    /**
     * Records durably where a restart resumes the member's rebuild: flushes the member, so its data
     * below that point is durable, then records the point.
     */
    public void checkpoint(Member member) throws IOException {
        long recovered = member.recoveredBytes();
        if (!flushed(member)) {
            return;
        }
        synchronized (this) {
            if (member.state() != MemberState.REBUILDING) {
                return;
            }
            metadata.recoveryCheckpoint(member, recovered);
        }
    }

    /** Flushes one member; a member whose flush fails is failed. Returns whether it succeeded. */
    private boolean flushed(Member member) throws IOException {
        IoBatch flush = new IoBatch();
        flush.flush(member);
        List<IoBatch.Op> failed = flush.await(timeoutNs);
        failMembers(failed);
        return failed.isEmpty();
    }

    /**
     * A rebuild finished: {@code member} is in sync. A rebuilt spare becomes ACTIVE in its slot; a
     * replacement takes its slot and the member it replaced leaves the array: it stays readable and
     * writable until {@code drain} has returned (stripe operations that started before the change
     * may still use it; md likewise waits for the old device's pending I/O), then it is closed.
     */
    public void markInSync(Member member, Runnable drain) throws IOException {
        List<ArrayEvent> announce = new ArrayList<>();
        Member retired = null;
        if (!flushed(member)) {
            return;
        }
        synchronized (this) {
            if (member.state() != MemberState.REBUILDING) {
                return;
            }
            int slot = member.slot();
            boolean wasReplacement = replacement[slot] == member;
            if (wasReplacement) {
                retired = primary[slot];
                retired.detach();
                primary[slot] = member;
                replacement[slot] = null;
            }
            member.inSync();
            publish();
            metadata.memberInSync(member, retired);
            if (wasReplacement) {
                LOG.log(
                        Level.INFO,
                        "array {0}: {1} replaced {2} in slot {3}",
                        arrayName,
                        member.name(),
                        retired.name(),
                        slot);
                announce.add(ArrayEvent.of(
                        EventType.ReplaceFinished, arrayName, member.name(), "replaced " + retired.name()));
                announce.add(ArrayEvent.of(EventType.MemberRemoved, arrayName, retired.name(), "replaced"));
            } else {
                LOG.log(Level.INFO, "array {0}: {1} is in sync in slot {2}", arrayName, member.name(), slot);
                announce.add(ArrayEvent.of(EventType.RebuildFinished, arrayName, member.name(), "slot " + slot));
                announce.add(ArrayEvent.of(EventType.SpareActive, arrayName, member.name(), "slot " + slot));
            }
        }
        announce.forEach(events::emit);
        if (retired != null) {
            drain.run();
            retired.markFaulty("replaced by " + member.name());
            retired.close();
        }
    }

    /**
     * Takes a spare, a faulty member or a replacement in progress out of the array, and closes it.
     * Refused for a member that holds the array's data (fail or replace it first).
     */
    public String remove(Member member) throws IOException {
        String what;
        synchronized (this) {
            MemberState s = member.state();
            int slot = member.slot();
            if (s == MemberState.MISSING) {
                throw new IllegalArgumentException("slot " + slot + " has no member to remove");
            }
            if (slot >= 0 && replacement[slot] == member) {
                replacement[slot] = null;
                member.markFaulty("replacement cancelled");
                member.detach();
                what = "replacement of " + primary[slot].name() + " by " + member.name() + " cancelled";
            } else if (s == MemberState.ACTIVE || s == MemberState.REBUILDING) {
                throw new IllegalArgumentException(member.name() + " is " + s.label() + " in slot " + slot
                        + "; removing it would lose data: fail it first (raidctl fail) or replace it"
                        + " (raidctl replace)");
            } else if (slot >= 0 && primary[slot] == member) {
                primary[slot] = Member.missing(slot);
                member.detach();
                what = member.name() + " removed; slot " + slot + " is now missing";
            } else if (others.remove(member)) {
                what = member.name() + " (" + s.label() + ") removed";
            } else {
                throw new IllegalArgumentException(member.name() + " is not a member of array " + arrayName);
            }
            others.remove(member);
            publish();
            metadata.memberRemoved(member);
            LOG.log(Level.INFO, "array {0}: {1}", arrayName, what);
        }
        events.emit(ArrayEvent.of(EventType.MemberRemoved, arrayName, member.name(), what));
        member.close();
        return what;
    }

    /**
     * Fails the member of every failed write, zero or flush, of every timeout, and of every I/O
     * that found its device gone (shrunk, vanished, replaced under raidd: announced as
     * DeviceDisappeared). Read errors are left to the caller, which reconstructs and rewrites the
     * block (md's read-error correction).
     *
     * <p>Out of space is not a disk failure: the member stays, and the caller gets a {@link
     * NoSpaceException} (after the other failures were dealt with), so the request fails with ENOSPC
     * and what it touched is resynced once space is back.
     */
    public void failMembers(List<IoBatch.Op> failed) throws IOException {
        NoSpaceException noSpace = null;
        for (IoBatch.Op op : failed) {
            if (op.timedOut) {
                op.member.noteTimeout();
            }
            if (op.failure instanceof DeviceGoneException gone) {
                fail(op.member, gone.getMessage(), EventType.DeviceDisappeared);
            } else if (op.failure instanceof NoSpaceException ns && op.kind != IoBatch.Kind.READ) {
                op.member.noteNoSpace();
                noSpace = noSpace != null ? noSpace : ns;
            } else if (op.kind != IoBatch.Kind.READ || op.timedOut) {
                fail(op.member, op.describe());
            }
        }
        if (noSpace != null) {
            throw new NoSpaceException(
                    "array " + arrayName + ": " + noSpace.getMessage().replace(NoSpaceException.PREFIX + ": ", ""),
                    noSpace);
        }
    }

    @Override
    public void close() throws IOException {
        IOException first = null;
        for (Member m : roster.everyMember()) {
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
