package io.raidd.scrubber;

import io.raidd.raid.layout.Geometry;
import io.raidd.raid.md.TagBlock;
import io.raidd.raid.md.TagBlockDescriptor;
import io.raidd.raid.member.IntegrityTags;
import io.raidd.raid.member.Member;
import io.raidd.raid.parity.ParityKernel;
import io.raidd.raid.parity.Raid6Recovery;
import io.raidd.raid.parity.SyndromeVerdict;
import io.raidd.raid.volume.LoadedStripe;
import io.raidd.raid.volume.StripeAccess;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The one place that decides, for each 4 KiB page of a loaded stripe, which bytes are wrong, how
 * that is known, and what the right bytes are. It reads tags but never writes: it returns {@link
 * Action}s (rewrite a page with bytes it has put into the stripe's blocks, or record a tag) that the
 * {@link ScrubAgent} carries out in repair mode.
 *
 * <p>The rules, page by page (a block whose tag matches is good; a block whose tag does not match is
 * bad; an unknown tag proves nothing):
 *
 * <ul>
 *   <li><b>RAID-4/5/6, parity consistent</b>: the data is right. A block whose tag does not match
 *       has a wrong tag (tag area, repaired by recomputing that tag); a damaged tag block is tag
 *       area too. Unknown tags are filled in (repair mode).
 *   <li><b>Parity inconsistent, or blocks unreadable</b>: the blocks whose tags do not match (and
 *       those that failed to read) are reconstructed from the others, as erasures. With no tag
 *       mismatch, RAID-6 locates the single bad block from the P/Q syndromes (mdadm's raid6check
 *       rule), RAID-5 only when every other block's tag matches. The reconstruction is accepted
 *       only if it is consistent with the redundancy left over and matches the block's own tag
 *       where that is known; otherwise the page is unresolved and nothing is written.
 *   <li><b>RAID-1/10</b>: the right bytes are those of a copy whose CRC equals a known tag of the
 *       block (a copy with an unknown tag is proven by another copy's tag); copies that differ are
 *       rewritten from it. Copies that differ with no tag to tell are unresolved.
 * </ul>
 */
final class FindingClassifier {
    static final int PAGE = TagBlockDescriptor.TAGGED_BYTES;

    /** How repairs choose the right bytes. Only {@link #SAFE} is used outside tests. */
    enum Policy {
        SAFE,
        /**
         * md's {@code repair}: P/Q recomputed from the data as read, the first copy copied over the
         * others, tags ignored. Kept to show that the tests catch what it does (it bakes a corrupt
         * data block into parity).
         */
        TRUST_PARITY
    }

    /** A rewrite of {@code [fromBytes, +lengthBytes)} of a position, or a tag to record there. */
    record Action(int position, int fromBytes, int lengthBytes, boolean rewrite, Finding finding) {}

    /** What one stripe came to: findings (as found, not yet repaired) and what repair mode does. */
    static final class Outcome {
        final List<Finding> findings = new ArrayList<>();
        final List<Action> actions = new ArrayList<>();
    }

    private enum State {
        /** No member holds the position current (missing, failed, not yet rebuilt): an erasure. */
        ABSENT,
        /** The member failed to read it. */
        READ_ERROR,
        MATCH,
        MISMATCH,
        UNKNOWN
    }

    private final StripeAccess access;
    private final Geometry geometry;
    private final boolean useTags;
    private final Policy policy;
    private final Set<Long> tornSeen;

    private byte[] fullP = new byte[0];
    private byte[] fullQ = new byte[0];
    private final SyndromeVerdict[] verdicts = new SyndromeVerdict[1];

    FindingClassifier(StripeAccess access, Geometry geometry, boolean useTags, Policy policy) {
        this(access, geometry, useTags, policy, java.util.concurrent.ConcurrentHashMap.newKeySet());
    }

    /** @param tornSeen damaged tag blocks already reported (shared by the classifiers of one scrub) */
    FindingClassifier(StripeAccess access, Geometry geometry, boolean useTags, Policy policy, Set<Long> tornSeen) {
        this.tornSeen = tornSeen;
        this.access = access;
        this.geometry = geometry;
        this.useTags = useTags;
        this.policy = policy;
    }

    Outcome classify(LoadedStripe st) throws IOException {
        Outcome out = new Outcome();
        int[] syn = access.syndromePositions(st.stripe());
        int n = st.positions();
        State[] state = new State[n];
        int[] tag = new int[n];
        int pages = (st.lengthBytes() + PAGE - 1) / PAGE;
        // A read error is one finding per position and stripe, not one per page.
        boolean[] readErrorReported = new boolean[n];
        if (syn != null) {
            prepareParity(st, syn);
        }
        for (int page = 0; page < pages; page++) {
            int from = page * PAGE;
            int len = Math.min(PAGE, st.lengthBytes() - from);
            for (int p = 0; p < n; p++) {
                tag[p] = 0;
                state[p] = stateOf(st, p, from, len, tag, out);
            }
            if (syn != null) {
                parityPage(st, syn, state, tag, from, len, readErrorReported, out);
            } else {
                mirrorPage(st, state, tag, from, len, readErrorReported, out);
            }
        }
        return out;
    }

    // ------------------------------------------------------------------------------------ tags

    private State stateOf(LoadedStripe st, int p, int from, int len, int[] tag, Outcome out) throws IOException {
        Member m = st.reader(p);
        if (m == null) {
            return State.ABSENT;
        }
        if (st.unreadable(p)) {
            tag[p] = knownTag(st, m, p, from, len);
            return State.READ_ERROR;
        }
        IntegrityTags tags = m.tags();
        if (!useTags || tags == null || len != PAGE) {
            return State.UNKNOWN;
        }
        long offset = st.memberOffsetBytes(p) + from;
        if (offset >= tags.trustedBelowBytes()) {
            return State.UNKNOWN;
        }
        long index = offset / PAGE / TagBlockDescriptor.TAGS_PER_BLOCK;
        if (damaged(tags, p, index, offset)) {
            if (tornSeen.add(((long) st.slot(p) << 48) | index)) {
                long first = index * TagBlockDescriptor.TAGS_PER_BLOCK * PAGE;
                Finding f = new Finding(
                        m.name(),
                        st.slot(p),
                        -1,
                        first,
                        PAGE,
                        Finding.Kind.TAG_AREA,
                        Finding.Cause.TAG_CHECKSUM,
                        false,
                        false,
                        "tag block at device offset " + tags.tagBlockDeviceOffset(offset)
                                + " fails its checksum; tags recomputed only where parity proves the data");
                out.findings.add(f);
            }
            return State.UNKNOWN;
        }
        int t = tags.tagAt(offset);
        if (t == TagBlockDescriptor.UNKNOWN) {
            return State.UNKNOWN;
        }
        tag[p] = t;
        return t == TagBlock.tagOf(st.block(p), from) ? State.MATCH : State.MISMATCH;
    }

    /**
     * Whether the tag block {@code index} of position {@code p}'s member is damaged, asked once per
     * tag block and position rather than once per page (it is a map lookup or two, and a stripe has
     * hundreds of pages).
     */
    private boolean damaged(IntegrityTags tags, int p, long index, long offset) throws IOException {
        if (p >= damagedIndex.length) {
            damagedIndex = Arrays.copyOf(damagedIndex, p + 1);
            damagedTags = Arrays.copyOf(damagedTags, p + 1);
            damagedAnswer = Arrays.copyOf(damagedAnswer, p + 1);
            damagedIndex[p] = -1;
        }
        if (damagedTags[p] != tags || damagedIndex[p] != index) {
            damagedTags[p] = tags;
            damagedIndex[p] = index;
            damagedAnswer[p] = tags.tagBlockDamaged(offset);
        }
        return damagedAnswer[p];
    }

    private long[] damagedIndex = new long[0];
    private IntegrityTags[] damagedTags = new IntegrityTags[0];
    private boolean[] damagedAnswer = new boolean[0];

    private int knownTag(LoadedStripe st, Member m, int p, int from, int len) throws IOException {
        IntegrityTags tags = m.tags();
        if (!useTags || tags == null || len != PAGE) {
            return 0;
        }
        long offset = st.memberOffsetBytes(p) + from;
        if (offset >= tags.trustedBelowBytes() || tags.tagBlockDamaged(offset)) {
            return 0;
        }
        return tags.tagAt(offset);
    }

    private boolean canTag(LoadedStripe st, int p, int len) {
        Member m = st.reader(p);
        return useTags && len == PAGE && m != null && m.tags() != null && st.writable(p);
    }

    // ------------------------------------------------------------------------------- findings

    private Finding finding(
            LoadedStripe st,
            int p,
            int from,
            int len,
            Finding.Kind kind,
            Finding.Cause cause,
            boolean unresolved,
            String detail) {
        long memberOffset = st.memberOffsetBytes(p) + from;
        Geometry.MemberByte mb = geometry.memberByte(st.slot(p), memberOffset);
        Finding.Kind k = kind != null ? kind : kindOf(mb);
        Member m = st.member(p);
        return new Finding(
                m == null ? null : m.name(),
                st.slot(p),
                k == Finding.Kind.DATA ? mb.volumeOffsetBytes() : -1,
                memberOffset,
                len,
                k,
                cause,
                false,
                unresolved,
                detail);
    }

    private static Finding.Kind kindOf(Geometry.MemberByte mb) {
        return switch (mb.kind()) {
            case P -> Finding.Kind.P;
            case Q -> Finding.Kind.Q;
            default -> Finding.Kind.DATA;
        };
    }

    /** A bad block whose right bytes are now in the stripe's block: a finding and its rewrite. */
    private void fixed(
            LoadedStripe st,
            int p,
            int from,
            int len,
            Finding.Cause cause,
            String detail,
            boolean[] readErrorReported,
            Outcome out) {
        if (cause == Finding.Cause.READ_ERROR) {
            if (readErrorReported[p]) {
                return;
            }
            readErrorReported[p] = true;
            Finding f = finding(st, p, 0, st.lengthBytes(), null, cause, false, detail);
            out.findings.add(f);
            if (st.writable(p)) {
                out.actions.add(new Action(p, 0, st.lengthBytes(), true, f));
            }
            return;
        }
        Finding f = finding(st, p, from, len, null, cause, false, detail);
        out.findings.add(f);
        if (st.writable(p)) {
            out.actions.add(new Action(p, from, len, true, f));
        }
    }

    private void unresolved(
            LoadedStripe st,
            int p,
            int from,
            int len,
            Finding.Cause cause,
            String detail,
            boolean[] readErrorReported,
            Outcome out) {
        if (cause == Finding.Cause.READ_ERROR) {
            if (readErrorReported[p]) {
                return;
            }
            readErrorReported[p] = true;
            out.findings.add(finding(st, p, 0, st.lengthBytes(), null, cause, true, detail));
            return;
        }
        out.findings.add(finding(st, p, from, len, null, cause, true, detail));
    }

    private void retag(LoadedStripe st, int p, int from, int len, Finding finding, Outcome out) {
        if (canTag(st, p, len)) {
            out.actions.add(new Action(p, from, len, false, finding));
        }
    }

    // ------------------------------------------------------------------------------ RAID-4/5/6

    private void prepareParity(LoadedStripe st, int[] syn) {
        int len = st.lengthBytes();
        if (fullP.length < len) {
            fullP = new byte[len];
            fullQ = new byte[len];
        }
        int k = syn.length - 2;
        byte[][] blocks = synBlocks(st, syn);
        ParityKernel kernel = access.kernel();
        if (syn[k + 1] >= 0) {
            kernel.pq(blocks, k, fullP, fullQ, 0, len);
        } else {
            kernel.p(blocks, k, fullP, 0, len);
        }
    }

    private byte[][] synBlocks(LoadedStripe st, int[] syn) {
        int k = syn.length - 2;
        byte[][] blocks = new byte[k + 2][];
        for (int i = 0; i < k + 2; i++) {
            blocks[i] = syn[i] >= 0 ? st.block(syn[i]) : scratchQ(st.lengthBytes());
        }
        return blocks;
    }

    private byte[] scratchQ;

    private byte[] scratchQ(int len) {
        if (scratchQ == null || scratchQ.length < len) {
            scratchQ = new byte[len];
        }
        return scratchQ;
    }

    private void parityPage(
            LoadedStripe st,
            int[] syn,
            State[] state,
            int[] tag,
            int from,
            int len,
            boolean[] readErrorReported,
            Outcome out)
            throws IOException {
        int k = syn.length - 2;
        int parityCount = syn[k + 1] >= 0 ? 2 : 1;
        List<Integer> erasures = new ArrayList<>();
        List<Integer> mismatched = new ArrayList<>();
        for (int i = 0; i < k + parityCount; i++) {
            int p = syn[i];
            if (state[p] == State.ABSENT || state[p] == State.READ_ERROR) {
                erasures.add(p);
            } else if (state[p] == State.MISMATCH) {
                mismatched.add(p);
            }
        }
        if (erasures.isEmpty()) {
            int pPos = syn[k];
            int qPos = syn[k + 1];
            boolean consistent = Arrays.mismatch(fullP, from, from + len, st.block(pPos), from, from + len) < 0
                    && (qPos < 0 || Arrays.mismatch(fullQ, from, from + len, st.block(qPos), from, from + len) < 0);
            if (consistent) {
                for (int i = 0; i < k + parityCount; i++) {
                    int p = syn[i];
                    if (state[p] == State.MISMATCH) {
                        // Parity vouches for the data: the tag is what is wrong.
                        Finding f = finding(
                                st,
                                p,
                                from,
                                len,
                                Finding.Kind.TAG_AREA,
                                Finding.Cause.TAG_MISMATCH,
                                false,
                                "the tag does not match data that parity proves right");
                        out.findings.add(f);
                        retag(st, p, from, len, f, out);
                    } else if (state[p] == State.UNKNOWN) {
                        retag(st, p, from, len, null, out);
                    }
                }
                return;
            }
            if (policy == Policy.TRUST_PARITY) {
                System.arraycopy(fullP, from, st.block(pPos), from, len);
                fixed(
                        st,
                        pPos,
                        from,
                        len,
                        Finding.Cause.PARITY_MISMATCH,
                        "md repair: P from data",
                        readErrorReported,
                        out);
                if (qPos >= 0) {
                    System.arraycopy(fullQ, from, st.block(qPos), from, len);
                    fixed(
                            st,
                            qPos,
                            from,
                            len,
                            Finding.Cause.PARITY_MISMATCH,
                            "md repair: Q from data",
                            readErrorReported,
                            out);
                }
                return;
            }
            if (mismatched.isEmpty()) {
                List<Integer> candidates = new ArrayList<>();
                for (int i = 0; i < k + parityCount; i++) {
                    if (state[syn[i]] == State.UNKNOWN) {
                        candidates.add(syn[i]);
                    }
                }
                int located = -1;
                String how;
                if (parityCount == 2) {
                    byte[][] blocks = synBlocks(st, syn);
                    new Raid6Recovery(access.kernel())
                            .locateSingleError(blocks, k, from, len, fullPScratch(), fullQScratch(), verdicts);
                    int index = verdicts[0].blockIndex(k);
                    located = index >= 0 ? syn[index] : -1;
                    how = "located by the P/Q syndromes";
                    if (located >= 0 && !candidates.contains(located)) {
                        located = -1;
                        how = "the P/Q syndromes name a block whose tag matches";
                    } else if (index < 0) {
                        how = "the P/Q syndromes name no single block (" + verdicts[0] + ")";
                    }
                } else if (candidates.size() == 1) {
                    located = candidates.get(0);
                    how = "the only block without a matching tag";
                } else {
                    how = candidates.size() + " blocks without a matching tag: RAID-5 parity cannot say which";
                }
                if (located < 0) {
                    unresolved(st, pPos, from, len, Finding.Cause.PARITY_MISMATCH, how, readErrorReported, out);
                    return;
                }
                solve(
                        st,
                        syn,
                        List.of(located),
                        List.of(),
                        state,
                        tag,
                        from,
                        len,
                        Finding.Cause.PARITY_MISMATCH,
                        how,
                        readErrorReported,
                        out);
                return;
            }
        }
        solve(
                st,
                syn,
                mismatched,
                erasures,
                state,
                tag,
                from,
                len,
                Finding.Cause.TAG_MISMATCH,
                "",
                readErrorReported,
                out);
    }

    private byte[] locP = new byte[0];
    private byte[] locQ = new byte[0];

    private byte[] fullPScratch() {
        if (locP.length < fullP.length) {
            locP = new byte[fullP.length];
        }
        return locP;
    }

    private byte[] fullQScratch() {
        if (locQ.length < fullQ.length) {
            locQ = new byte[fullQ.length];
        }
        return locQ;
    }

    /**
     * Reconstructs {@code bad} and {@code erasures} from the rest of the page and accepts it only
     * when it is proven: consistent with the redundancy left over, and matching each block's own tag
     * where that is known. Otherwise the blocks are put back as they were and reported unresolved.
     */
    private void solve(
            LoadedStripe st,
            int[] syn,
            List<Integer> bad,
            List<Integer> erasures,
            State[] state,
            int[] tag,
            int from,
            int len,
            Finding.Cause cause,
            String how,
            boolean[] readErrorReported,
            Outcome out) {
        int k = syn.length - 2;
        int parityCount = syn[k + 1] >= 0 ? 2 : 1;
        List<Integer> lost = new ArrayList<>(erasures);
        lost.addAll(bad);
        if (lost.size() > parityCount) {
            for (int p : lost) {
                if (state[p] != State.ABSENT) {
                    unresolved(
                            st,
                            p,
                            from,
                            len,
                            causeOf(state[p], cause),
                            lost.size() + " blocks bad or unreadable in one page, more than parity can rebuild",
                            readErrorReported,
                            out);
                }
            }
            return;
        }
        int[] synOf = new int[st.positions()];
        Arrays.fill(synOf, -1);
        for (int i = 0; i < k + 2; i++) {
            if (syn[i] >= 0) {
                synOf[syn[i]] = i;
            }
        }
        byte[][] saved = new byte[k + 2][];
        byte[][] blocks = synBlocks(st, syn);
        for (int i = 0; i < k + 2; i++) {
            saved[i] = Arrays.copyOfRange(blocks[i], from, from + len);
        }
        Raid6Recovery recovery = new Raid6Recovery(access.kernel());
        if (lost.size() == 1) {
            recovery.recover(blocks, k, synOf[lost.get(0)], from, len);
        } else {
            recovery.recover(blocks, k, synOf[lost.get(0)], synOf[lost.get(1)], from, len);
        }
        boolean proven = true;
        String why = how;
        // Redundancy left over (RAID-6 with one block lost): the rebuilt page must agree with it.
        if (lost.size() < parityCount) {
            byte[] p2 = new byte[len];
            byte[] q2 = new byte[len];
            byte[][] view = new byte[k + 2][];
            for (int i = 0; i < k + 2; i++) {
                view[i] = Arrays.copyOfRange(blocks[i], from, from + len);
            }
            access.kernel().pq(view, k, p2, q2, 0, len);
            for (int i = k; i < k + parityCount; i++) {
                if (lost.contains(syn[i])) {
                    continue;
                }
                if (!Arrays.equals(i == k ? p2 : q2, saved[i])) {
                    proven = false;
                    why = "the rebuilt block disagrees with " + (i == k ? "P" : "Q") + ": more than one block is bad";
                }
            }
        }
        for (int p : lost) {
            if (proven && tag[p] != 0 && len == PAGE && TagBlock.tagOf(st.block(p), from) != tag[p]) {
                proven = false;
                why = "tag and parity disagree: the block rebuilt from parity does not match its tag";
            }
        }
        // Positions not lost keep what they held (a recovery may have rewritten P in passing).
        for (int i = 0; i < k + 2; i++) {
            if (syn[i] >= 0 && (!lost.contains(syn[i]) || !proven)) {
                System.arraycopy(saved[i], 0, blocks[i], from, len);
            }
        }
        for (int p : lost) {
            if (state[p] == State.ABSENT) {
                continue;
            }
            Finding.Cause c = causeOf(state[p], cause);
            if (proven) {
                fixed(st, p, from, len, c, why, readErrorReported, out);
            } else {
                unresolved(st, p, from, len, c, why, readErrorReported, out);
            }
        }
    }

    private static Finding.Cause causeOf(State s, Finding.Cause otherwise) {
        return switch (s) {
            case READ_ERROR -> Finding.Cause.READ_ERROR;
            case MISMATCH -> Finding.Cause.TAG_MISMATCH;
            default -> otherwise;
        };
    }

    // -------------------------------------------------------------------------------- RAID-1/10

    private void mirrorPage(
            LoadedStripe st, State[] state, int[] tag, int from, int len, boolean[] readErrorReported, Outcome out) {
        int n = st.positions();
        Set<Integer> known = new HashSet<>();
        for (int c = 0; c < n; c++) {
            if (tag[c] != 0) {
                known.add(tag[c]);
            }
        }
        int[] crc = new int[n];
        int firstPresent = -1;
        for (int c = 0; c < n; c++) {
            if (state[c] != State.ABSENT && state[c] != State.READ_ERROR) {
                crc[c] = len == PAGE ? TagBlock.tagOf(st.block(c), from) : 0;
                if (firstPresent < 0) {
                    firstPresent = c;
                }
            }
        }
        if (firstPresent < 0) {
            for (int c = 0; c < n; c++) {
                if (state[c] == State.READ_ERROR) {
                    unresolved(
                            st,
                            c,
                            from,
                            len,
                            Finding.Cause.READ_ERROR,
                            "no copy could be read",
                            readErrorReported,
                            out);
                }
            }
            return;
        }
        int good = -1;
        String how;
        if (policy == Policy.TRUST_PARITY) {
            good = firstPresent;
            how = "md repair: first copy";
        } else if (known.size() == 1) {
            int t = known.iterator().next();
            for (int c = 0; c < n && good < 0; c++) {
                if (state[c] != State.ABSENT && state[c] != State.READ_ERROR && crc[c] == t) {
                    good = c;
                }
            }
            how = "the copy whose tag matches";
        } else if (known.isEmpty()) {
            boolean same = true;
            for (int c = 0; c < n; c++) {
                if (c != firstPresent && state[c] != State.ABSENT && state[c] != State.READ_ERROR) {
                    same &= Arrays.mismatch(st.block(c), from, from + len, st.block(firstPresent), from, from + len)
                            < 0;
                }
            }
            good = same ? firstPresent : -1;
            how = same ? "the readable copies agree" : "the copies differ and no tag says which is right";
        } else {
            // The copies' tags disagree: a copy that matches its own tag is right if every such
            // copy holds the same bytes (the other tags are then wrong, or their copies bad).
            how = "the copy that matches its own tag";
            for (int c = 0; c < n; c++) {
                if (state[c] == State.MATCH) {
                    if (good < 0) {
                        good = c;
                    } else if (Arrays.mismatch(st.block(c), from, from + len, st.block(good), from, from + len) >= 0) {
                        good = -1;
                        how = "copies that match their own tags differ";
                        break;
                    }
                }
            }
            if (good < 0 && how.startsWith("the copy")) {
                how = "the copies' tags disagree and no copy matches its own";
            }
        }
        if (good < 0) {
            boolean reported = false;
            for (int c = 0; c < n; c++) {
                if (state[c] == State.MISMATCH || state[c] == State.READ_ERROR) {
                    unresolved(
                            st,
                            c,
                            from,
                            len,
                            causeOf(state[c], Finding.Cause.TAG_MISMATCH),
                            how,
                            readErrorReported,
                            out);
                    reported = true;
                }
            }
            if (!reported) {
                for (int c = 0; c < n; c++) {
                    if (c != firstPresent && state[c] == State.UNKNOWN) {
                        unresolved(st, c, from, len, Finding.Cause.PARITY_MISMATCH, how, readErrorReported, out);
                    }
                }
            }
            return;
        }
        for (int c = 0; c < n; c++) {
            if (c == good || state[c] == State.ABSENT) {
                continue;
            }
            boolean differs = state[c] == State.READ_ERROR
                    || Arrays.mismatch(st.block(c), from, from + len, st.block(good), from, from + len) >= 0;
            if (differs) {
                Finding.Cause cause = causeOf(state[c], Finding.Cause.PARITY_MISMATCH);
                if (cause == Finding.Cause.READ_ERROR) {
                    System.arraycopy(st.block(good), 0, st.block(c), 0, st.lengthBytes());
                } else {
                    System.arraycopy(st.block(good), from, st.block(c), from, len);
                }
                fixed(st, c, from, len, cause, how, readErrorReported, out);
            } else if (state[c] == State.MISMATCH) {
                Finding f = finding(
                        st,
                        c,
                        from,
                        len,
                        Finding.Kind.TAG_AREA,
                        Finding.Cause.TAG_MISMATCH,
                        false,
                        "the tag does not match data another copy's tag proves right");
                out.findings.add(f);
                retag(st, c, from, len, f, out);
            } else if (state[c] == State.UNKNOWN) {
                retag(st, c, from, len, null, out);
            }
        }
        if (state[good] == State.UNKNOWN) {
            retag(st, good, from, len, null, out);
        }
    }
}
