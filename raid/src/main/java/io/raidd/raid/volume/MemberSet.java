package io.raidd.raid.volume;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.util.List;

/**
 * The members of one array, by slot, and the rule for failing one: mark it faulty, then make that
 * durable on the survivors before the I/O that noticed the failure is acknowledged.
 */
final class MemberSet implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger("io.raidd.raid");

    private final String arrayName;
    private final Member[] members;
    private final ArrayMetadataListener metadata;
    private final long timeoutNs;

    MemberSet(String arrayName, List<Member> members, ArrayMetadataListener metadata, long timeoutNs) {
        this.arrayName = arrayName;
        this.members = members.toArray(new Member[0]);
        for (int i = 0; i < this.members.length; i++) {
            if (this.members[i].slot() != i) {
                throw new IllegalArgumentException("member at index " + i + " has slot " + this.members[i].slot());
            }
        }
        this.metadata = metadata;
        this.timeoutNs = timeoutNs;
    }

    int count() {
        return members.length;
    }

    Member get(int slot) {
        return members[slot];
    }

    long timeoutNs() {
        return timeoutNs;
    }

    int usableCount() {
        int n = 0;
        for (Member m : members) {
            if (m.usable()) {
                n++;
            }
        }
        return n;
    }

    List<Member> all() {
        return List.of(members);
    }

    ArrayMetadataListener metadata() {
        return metadata;
    }

    /**
     * Fails {@code member} (if still active) and records it durably. Thread-safe; the metadata update
     * for a member happens once.
     */
    void fail(Member member, String reason) throws IOException {
        synchronized (this) {
            if (!member.markFaulty(reason)) {
                return;
            }
            LOG.log(
                    Level.WARNING,
                    "array {0}: member {1} (slot {2}) failed: {3}; {4} of {5} members remain",
                    arrayName,
                    member.name(),
                    member.slot(),
                    reason,
                    usableCount(),
                    members.length);
            metadata.memberFailed(member.slot(), reason);
        }
    }

    /**
     * Fails the member of every failed write, zero or flush, and of every timeout. Read errors are
     * left to the caller, which reconstructs and rewrites the block (md's read-error correction).
     */
    void failMembers(List<IoBatch.Op> failed) throws IOException {
        for (IoBatch.Op op : failed) {
            if (op.kind != IoBatch.Kind.READ || op.timedOut) {
                fail(op.member, op.describe());
            }
        }
    }

    @Override
    public void close() throws IOException {
        IOException first = null;
        for (Member m : members) {
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
