package io.raidd.raid.volume;

import io.raidd.blockdev.Extent;
import io.raidd.raid.layout.ParityLayout;
import io.raidd.raid.member.Member;
import io.raidd.raid.member.MemberLifecycle;
import io.raidd.raid.parity.ParityKernel;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * RAID-4/5/6 as a {@link VolumeEngine}: the read path ({@link ParityReads}), the write strategies
 * ({@link ParityWrites}) and stripe-level access for background work ({@link ParityStripes}), over
 * one shared geometry and set of stripe locks.
 */
final class ParityEngine implements VolumeEngine {
    private final ParityStripes stripes;
    private final ParityReads reads;
    private final ParityWrites writes;

    ParityEngine(
            String arrayName,
            ParityLayout layout,
            int chunkBytes,
            long memberUsedBytes,
            MemberLifecycle members,
            ParityKernel kernel) {
        this.stripes = new ParityStripes(arrayName, layout, chunkBytes, memberUsedBytes, members, kernel);
        this.reads = new ParityReads(stripes);
        this.writes = new ParityWrites(stripes);
    }

    @Override
    public void read(long offsetBytes, ByteBuffer dst) throws IOException {
        reads.read(offsetBytes, dst);
    }

    @Override
    public boolean readIfCached(long offsetBytes, ByteBuffer dst) {
        return reads.readIfCached(offsetBytes, dst);
    }

    @Override
    public void write(long offsetBytes, ByteBuffer src) throws IOException {
        writes.writeGathered(offsetBytes, Gather.of(src));
    }

    @Override
    public void writeGathered(long offsetBytes, Gather src) throws IOException {
        writes.writeGathered(offsetBytes, src);
    }

    @Override
    public void writeZeroes(long offsetBytes, long lengthBytes) throws IOException {
        writes.zeroRange(offsetBytes, lengthBytes, true);
    }

    @Override
    public void discard(long offsetBytes, long lengthBytes) throws IOException {
        writes.zeroRange(offsetBytes, lengthBytes, false);
    }

    @Override
    public List<Extent> allocation(long offsetBytes, long lengthBytes) throws IOException {
        List<Extent> out = new ArrayList<>();
        long pos = offsetBytes;
        long end = offsetBytes + lengthBytes;
        int chunkBytes = stripes.chunkBytes;
        int budget = 4096; // member queries per call; the caller asks again from where we stop
        while (pos < end && budget-- > 0) {
            long chunk = pos / chunkBytes;
            int in = (int) (pos - chunk * chunkBytes);
            long len = Math.min(end - pos, chunkBytes - in);
            long stripe = chunk / stripes.k;
            int disk = stripes.layout.dataDisk(stripe, (int) (chunk % stripes.k));
            StripeView view = stripes.view(stripe);
            Member m = view.reader(disk);
            Extents.appendMemberRange(out, m, pos, stripes.memberOffset(stripe, in), len);
            pos += len;
        }
        return out;
    }

    @Override
    public boolean complete() {
        return stripes.complete();
    }

    @Override
    public StripeAccess stripes() {
        return stripes;
    }
}
