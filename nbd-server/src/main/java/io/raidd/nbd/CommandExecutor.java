package io.raidd.nbd;

import static io.raidd.nbd.RequestDescriptor.CMD_BLOCK_STATUS;
import static io.raidd.nbd.RequestDescriptor.CMD_CACHE;
import static io.raidd.nbd.RequestDescriptor.CMD_FLUSH;
import static io.raidd.nbd.RequestDescriptor.CMD_READ;
import static io.raidd.nbd.RequestDescriptor.CMD_TRIM;
import static io.raidd.nbd.RequestDescriptor.CMD_WRITE;
import static io.raidd.nbd.RequestDescriptor.CMD_WRITE_ZEROES;
import static io.raidd.nbd.RequestDescriptor.FLAG_DF;
import static io.raidd.nbd.RequestDescriptor.FLAG_FAST_ZERO;
import static io.raidd.nbd.RequestDescriptor.FLAG_FUA;
import static io.raidd.nbd.RequestDescriptor.FLAG_NO_HOLE;
import static io.raidd.nbd.RequestDescriptor.FLAG_REQ_ONE;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;
import io.raidd.blockdev.BlockDevice;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Executes transmission commands against the export's device. {@link #check} runs on the event loop
 * and never touches the device; {@link #readIfCached} runs on the event loop and touches only the
 * device's memory; {@link #execute} runs on an I/O thread and may block.
 */
final class CommandExecutor {
    private static final System.Logger LOG = System.getLogger(CommandExecutor.class.getName());

    static final int ALLOCATION_CONTEXT_ID = 1;

    /** Reads shorter than this are sent as one data chunk without asking the device for holes. */
    static final int SPARSE_READ_MIN_BYTES = 64 * 1024;

    /** Zero runs at least this long inside a read are sent as OFFSET_HOLE instead of data. */
    static final int HOLE_CHUNK_MIN_BYTES = 4096;

    /**
     * READs up to this length are answered in one piece (copied on the event loop when the device
     * holds the data in memory); longer ones are streamed in slices of this length, each produced
     * only once the previous one was taken by the socket.
     */
    static final int READ_SLICE_BYTES = 1024 * 1024;

    private static final int ZERO_WRITE_CHUNK_BYTES = 1024 * 1024;
    private static final ByteBuffer ZEROES =
            ByteBuffer.allocateDirect(ZERO_WRITE_CHUNK_BYTES).asReadOnlyBuffer();

    private final TransmissionSession session;
    private final NbdExport export;
    private final BlockDevice device;
    private final NbdExportStats stats;
    private final int allowedFlagsMask;
    /** Where buffers for large READ data come from ({@link DataBufferPool}). */
    private final ByteBufAllocator dataBuffers;

    CommandExecutor(TransmissionSession session, ByteBufAllocator dataBuffers) {
        this.session = session;
        this.dataBuffers = dataBuffers;
        this.export = session.export();
        this.device = export.device();
        this.stats = session.entry().stats;
        int mask = 0xffff;
        if ((session.transmissionFlags() & TransmissionFlags.SEND_FUA) == 0) {
            mask &= ~FLAG_FUA;
        }
        if ((session.transmissionFlags() & TransmissionFlags.SEND_DF) == 0) {
            mask &= ~FLAG_DF;
        }
        if ((session.transmissionFlags() & TransmissionFlags.SEND_FAST_ZERO) == 0) {
            mask &= ~FLAG_FAST_ZERO;
        }
        this.allowedFlagsMask = mask;
    }

    /** Why a request is refused before it reaches the device. */
    record Refusal(int errno, String message) {}

    /** What a device call that has no data to return came to: errno 0 is success. */
    record Outcome(int errno, String message) {
        static final Outcome OK = new Outcome(NbdErrno.OK, null);

        boolean failed() {
            return errno != NbdErrno.OK;
        }
    }

    /**
     * One slice of a streamed READ reply, ready to be written: data (with the reply's header before
     * the first slice of a simple reply), or an error to end the reply with. A failure after a
     * simple reply's data has started has no bytes: nothing can report it but a disconnect.
     */
    record Slice(ByteBuf bytes, int errno, String message) {
        boolean failed() {
            return errno != NbdErrno.OK;
        }
    }

    /** Returns the refusal for a request the device must not see, or null when it may run. */
    Refusal check(NbdRequest r) {
        int allowed = RequestDescriptor.flagsAllowedFor(r.type) & allowedFlagsMask;
        if (allowed == 0 && !isKnownCommand(r.type)) {
            return new Refusal(NbdErrno.EINVAL, "unknown command " + r.type);
        }
        if ((r.flags & ~allowed) != 0) {
            return new Refusal(
                    NbdErrno.EINVAL,
                    "flags 0x" + Integer.toHexString(r.flags) + " not valid for "
                            + RequestDescriptor.commandName(r.type));
        }
        long size = export.sizeBytes();
        boolean inRange = r.offsetBytes >= 0 && r.offsetBytes <= size && r.lengthBytes <= size - r.offsetBytes;
        boolean aligned = ((r.offsetBytes | r.lengthBytes) & (session.enforcedAlignmentBytes() - 1)) == 0;
        long max = session.maxPayloadBytes();
        switch (r.type) {
            case CMD_READ -> {
                if (r.lengthBytes > max) {
                    return new Refusal(
                            NbdErrno.EINVAL, "read of " + r.lengthBytes + " bytes exceeds maximum payload " + max);
                }
                if (!inRange) {
                    return new Refusal(NbdErrno.EINVAL, "read beyond the end of the export");
                }
            }
            case CMD_WRITE -> {
                if (r.payloadSkipped) {
                    return new Refusal(
                            NbdErrno.EINVAL, "write of " + r.lengthBytes + " bytes exceeds maximum payload " + max);
                }
                if (session.readOnly()) {
                    return new Refusal(NbdErrno.EPERM, "export is read-only");
                }
                if (!inRange) {
                    return new Refusal(NbdErrno.ENOSPC, "write beyond the end of the export");
                }
            }
            case CMD_FLUSH -> {
                if (r.offsetBytes != 0 || r.lengthBytes != 0) {
                    return new Refusal(NbdErrno.EINVAL, "flush offset and length must be zero");
                }
                return null;
            }
            case CMD_TRIM -> {
                if (session.readOnly()) {
                    return new Refusal(NbdErrno.EPERM, "export is read-only");
                }
                if (!inRange) {
                    return new Refusal(NbdErrno.EINVAL, "trim beyond the end of the export");
                }
            }
            case CMD_CACHE -> {
                if (!inRange) {
                    return new Refusal(NbdErrno.EINVAL, "cache beyond the end of the export");
                }
                if (session.blockSizeNegotiated() && r.lengthBytes > max) {
                    return new Refusal(
                            NbdErrno.EINVAL, "cache of " + r.lengthBytes + " bytes exceeds maximum block size");
                }
            }
            case CMD_WRITE_ZEROES -> {
                if (session.readOnly()) {
                    return new Refusal(NbdErrno.EPERM, "export is read-only");
                }
                if (!inRange) {
                    return new Refusal(NbdErrno.ENOSPC, "write zeroes beyond the end of the export");
                }
                if (session.blockSizeNegotiated() && !r.hasFlag(FLAG_FAST_ZERO) && r.lengthBytes > max) {
                    return new Refusal(
                            NbdErrno.EINVAL, "write zeroes of " + r.lengthBytes + " bytes exceeds maximum block size");
                }
                if (r.hasFlag(FLAG_FAST_ZERO) && (!export.fastZero() || r.hasFlag(FLAG_NO_HOLE))) {
                    // Fully provisioned zeroes cost as much as writing them, so they are never fast.
                    return new Refusal(NbdErrno.ENOTSUP, "zeroing this range is not faster than writing it");
                }
            }
            case CMD_BLOCK_STATUS -> {
                if (session.allocationContextId() == 0) {
                    return new Refusal(NbdErrno.EINVAL, "no metadata context was negotiated");
                }
                if (r.lengthBytes == 0) {
                    return new Refusal(NbdErrno.EINVAL, "block status of zero length");
                }
                if (!inRange) {
                    return new Refusal(NbdErrno.EINVAL, "block status beyond the end of the export");
                }
            }
            default -> {
                return new Refusal(NbdErrno.EINVAL, "unknown command " + r.type);
            }
        }
        if (!aligned) {
            return new Refusal(
                    NbdErrno.EINVAL,
                    "request not aligned to the minimum block size " + session.enforcedAlignmentBytes());
        }
        return null;
    }

    private static boolean isKnownCommand(int type) {
        return type >= CMD_READ && type <= CMD_BLOCK_STATUS;
    }

    /** The reply for a refused request; counted in the export's statistics. */
    ByteBuf refuse(NbdRequest r, Refusal refusal, ByteBufAllocator alloc) {
        stats.recordReply(refusal.errno());
        return errorReply(r, refusal.errno(), refusal.message(), alloc);
    }

    ByteBuf errorReply(NbdRequest r, int errno, String message, ByteBufAllocator alloc) {
        if (session.structuredReplies()) {
            return Replies.error(alloc, r.cookie, errno, message);
        }
        return Replies.simple(alloc, r.cookie, errno);
    }

    /** Runs a checked request on the device and returns its complete reply. May block. */
    ByteBuf execute(NbdRequest r, ByteBufAllocator alloc) {
        int errno;
        String message;
        try {
            switch (r.type) {
                case CMD_READ -> {
                    return read(r, alloc);
                }
                case CMD_WRITE -> write(r);
                case CMD_FLUSH -> device.flush();
                case CMD_TRIM -> trim(r);
                case CMD_CACHE -> {
                    // No server-side cache exists to warm; success changes nothing, as CACHE requires.
                }
                case CMD_WRITE_ZEROES -> writeZeroes(r);
                case CMD_BLOCK_STATUS -> {
                    return blockStatus(r, alloc);
                }
                default -> throw new IllegalStateException("unchecked command " + r);
            }
            stats.recordReply(NbdErrno.OK);
            return Replies.simple(alloc, r.cookie, NbdErrno.OK);
        } catch (IOException e) {
            errno = NbdErrno.fromIOException(e);
            message = String.valueOf(e.getMessage());
            LOG.log(System.Logger.Level.DEBUG, () -> export.name() + ": " + r + " failed", e);
        } catch (IllegalArgumentException e) {
            errno = NbdErrno.EINVAL;
            message = String.valueOf(e.getMessage());
        } catch (RuntimeException | OutOfMemoryError e) {
            errno = NbdErrno.EIO;
            message = e.toString();
            LOG.log(System.Logger.Level.WARNING, () -> export.name() + ": " + r + " failed unexpectedly", e);
        }
        stats.recordReply(errno);
        return errorReply(r, errno, message, alloc);
    }

    /**
     * Runs adjacent plain WRITEs ({@link WriteRun}) as one gathered device write and returns their
     * replies in order. If the gathered write fails, each request is run again on its own, so every
     * reply says what happened to its own range. May block.
     */
    List<ByteBuf> executeWrites(List<NbdRequest> run, ByteBufAllocator alloc) {
        List<ByteBuffer> srcs = new ArrayList<>(run.size() + 4);
        for (NbdRequest r : run) {
            java.util.Collections.addAll(srcs, r.payload().nioBuffers());
        }
        List<ByteBuf> replies = new ArrayList<>(run.size());
        try {
            device.writeGathered(run.get(0).offsetBytes, srcs);
        } catch (IOException | RuntimeException e) {
            LOG.log(
                    System.Logger.Level.DEBUG,
                    () -> export.name() + ": " + run.size() + " adjacent writes failed together; retrying each",
                    e);
            for (NbdRequest r : run) {
                replies.add(execute(r, alloc));
            }
            return replies;
        }
        for (NbdRequest r : run) {
            stats.addBytesWritten(r.lengthBytes);
            stats.recordReply(NbdErrno.OK);
            replies.add(Replies.simple(alloc, r.cookie, NbdErrno.OK));
        }
        return replies;
    }

    private void write(NbdRequest r) throws IOException {
        if (r.lengthBytes == 0) {
            return;
        }
        ByteBuf payload = r.payload();
        if (r.hasFlag(FLAG_FUA)) {
            device.writeDurable(r.offsetBytes, payload.nioBuffer()); // one buffer: a copy if in pieces
        } else if (payload.nioBufferCount() == 1) {
            device.write(r.offsetBytes, payload.nioBuffer());
        } else {
            device.writeGathered(r.offsetBytes, List.of(payload.nioBuffers()));
        }
        stats.addBytesWritten(r.lengthBytes);
    }

    private void trim(NbdRequest r) throws IOException {
        if (r.lengthBytes > 0) {
            try {
                device.discard(r.offsetBytes, r.lengthBytes);
            } catch (UnsupportedOperationException e) {
                // TRIM is a hint; a device that cannot discard simply keeps the data.
            }
        }
        if (r.hasFlag(FLAG_FUA)) {
            device.flush();
        }
    }

    private void writeZeroes(NbdRequest r) throws IOException {
        if (r.lengthBytes > 0) {
            if (r.hasFlag(FLAG_NO_HOLE)) {
                // BlockDevice.writeZeroes may punch holes; NO_HOLE demands allocated zeroes.
                writeExplicitZeroes(r.offsetBytes, r.lengthBytes);
            } else {
                try {
                    device.writeZeroes(r.offsetBytes, r.lengthBytes);
                } catch (UnsupportedOperationException e) {
                    writeExplicitZeroes(r.offsetBytes, r.lengthBytes);
                }
            }
        }
        if (r.hasFlag(FLAG_FUA)) {
            device.flush();
        }
    }

    private void writeExplicitZeroes(long offset, long length) throws IOException {
        long pos = offset;
        long end = offset + length;
        while (pos < end) {
            int n = (int) Math.min(ZERO_WRITE_CHUNK_BYTES, end - pos);
            ByteBuffer zeroes = ZEROES.duplicate();
            zeroes.limit(n);
            device.write(pos, zeroes);
            pos += n;
        }
    }

    private ByteBuf read(NbdRequest r, ByteBufAllocator alloc) {
        int length = (int) r.lengthBytes;
        if (!session.structuredReplies()) {
            ByteBuf buf = wholeReadHeader(r, alloc, length);
            try {
                readInto(buf, r.offsetBytes, length);
            } catch (IOException | RuntimeException e) {
                buf.release();
                int errno = e instanceof IOException io ? NbdErrno.fromIOException(io) : NbdErrno.EIO;
                logReadFailure(r, e);
                stats.recordReply(errno);
                return Replies.simple(alloc, r.cookie, errno);
            }
            return completedRead(buf, length);
        }
        if (length == 0) {
            stats.recordReply(NbdErrno.OK);
            return Replies.none(alloc, r.cookie);
        }
        if (!mayDescribeHoles(r)) {
            return readOneChunk(r, alloc, r.offsetBytes, length);
        }
        AllocationExtents.Descriptors layout;
        try {
            layout = AllocationExtents.describe(
                    device, r.offsetBytes, length, export.minimumBlockSizeBytes(), AllocationExtents.MAX_DESCRIPTORS);
        } catch (IOException | RuntimeException e) {
            return readOneChunk(r, alloc, r.offsetBytes, length);
        }
        if (!hasHoleWorthSending(layout)) {
            return readOneChunk(r, alloc, r.offsetBytes, length);
        }
        return readSparse(r, alloc, layout);
    }

    /**
     * The reply to a checked READ served from the device's memory, for the event loop; null when the
     * read must go to an I/O thread instead: empty, longer than {@link #READ_SLICE_BYTES}, a
     * structured reply that may describe holes, or data not all in memory. The bytes are read into
     * the reply here ({@link BlockDevice#readIfCached}); a read that meets a shrunk member file
     * answers false and the request goes to the blocking path, which reports it.
     */
    ByteBuf readIfCached(NbdRequest r, ByteBufAllocator alloc) {
        int length = (int) r.lengthBytes;
        if (length == 0 || (session.structuredReplies() && mayDescribeHoles(r))) {
            return null;
        }
        try {
            return copyIfCached(r, alloc);
        } catch (RuntimeException e) {
            // A device bug; the blocking path reports it properly.
            return null;
        }
    }

    private ByteBuf copyIfCached(NbdRequest r, ByteBufAllocator alloc) {
        int length = (int) r.lengthBytes;
        if (length > READ_SLICE_BYTES) {
            return null;
        }
        ByteBuf buf = wholeReadHeader(r, alloc, length);
        int at = buf.writerIndex();
        try {
            if (device.readIfCached(r.offsetBytes, buf.nioBuffer(at, length))) {
                buf.writerIndex(at + length);
                return completedRead(buf, length);
            }
        } catch (RuntimeException e) {
            buf.release();
            throw e;
        }
        buf.release();
        return null;
    }

    /**
     * The header of a reply that carries the whole READ's data in one piece (a simple reply, or one
     * final OFFSET_DATA chunk), with room for {@code roomBytes} of the data behind it: all of it
     * when it is copied in, none when it follows in buffers of its own.
     */
    private ByteBuf wholeReadHeader(NbdRequest r, ByteBufAllocator alloc, int roomBytes) {
        ByteBufAllocator from = dataAllocator(roomBytes, alloc);
        return session.structuredReplies()
                ? Replies.dataHeader(from, r.cookie, true, r.offsetBytes, (int) r.lengthBytes, roomBytes)
                : Replies.simpleWithRoom(from, r.cookie, roomBytes);
    }

    /** A structured READ that asks the device where its holes are, to send them as OFFSET_HOLE. */
    private boolean mayDescribeHoles(NbdRequest r) {
        return !r.hasFlag(FLAG_DF) && r.lengthBytes >= SPARSE_READ_MIN_BYTES && export.sparseReads();
    }

    private ByteBuf readOneChunk(NbdRequest r, ByteBufAllocator alloc, long offset, int length) {
        ByteBuf buf = Replies.dataWithRoom(dataAllocator(length, alloc), r.cookie, true, offset, length);
        try {
            readInto(buf, offset, length);
        } catch (IOException | RuntimeException e) {
            buf.release();
            logReadFailure(r, e);
            int errno = e instanceof IOException io ? NbdErrno.fromIOException(io) : NbdErrno.EIO;
            stats.recordReply(errno);
            return Replies.errorAt(alloc, r.cookie, true, errno, String.valueOf(e.getMessage()), offset);
        }
        return completedRead(buf, length);
    }

    /**
     * A read whose range holds zero runs: data chunks for the rest, OFFSET_HOLE for the runs, so a
     * sparse region costs 32 bytes on the wire instead of its length. Chunks are produced in order;
     * an error ends the reply with ERROR_OFFSET at the failed chunk, after the chunks already read.
     */
    private ByteBuf readSparse(NbdRequest r, ByteBufAllocator alloc, AllocationExtents.Descriptors layout) {
        List<ByteBuf> chunks = new ArrayList<>();
        try {
            boolean failed = addSparseChunks(r, alloc, layout, r.offsetBytes, r.offsetBytes + r.lengthBytes, chunks);
            if (!failed) {
                stats.recordReply(NbdErrno.OK);
                stats.addBytesRead(r.lengthBytes);
            }
            Replies.markDone(chunks.get(chunks.size() - 1));
            CompositeByteBuf reply = alloc.compositeDirectBuffer(chunks.size());
            reply.addComponents(true, chunks);
            return reply;
        } catch (RuntimeException | Error e) {
            // Out of memory for a later chunk: the earlier ones must not leak.
            for (ByteBuf chunk : chunks) {
                chunk.release();
            }
            throw e;
        }
    }

    /**
     * Appends the chunks of {@code [start, end)} in order; returns true when a read failed (an error
     * chunk is last).
     */
    private boolean addSparseChunks(
            NbdRequest r,
            ByteBufAllocator alloc,
            AllocationExtents.Descriptors layout,
            long start,
            long end,
            List<ByteBuf> chunks) {
        long pos = start;
        long dataStart = -1;
        for (int i = 0; i < layout.count(); i++) {
            long extentEnd = pos + layout.length(i);
            if (isHoleWorthSending(layout, i)) {
                if (dataStart >= 0 && !addData(r, alloc, chunks, dataStart, pos)) {
                    return true;
                }
                dataStart = -1;
                chunks.add(Replies.hole(alloc, r.cookie, false, pos, (int) (extentEnd - pos)));
            } else if (dataStart < 0) {
                dataStart = pos;
            }
            pos = extentEnd;
        }
        if (pos < end && dataStart < 0) {
            // The layout may stop short on a fragmented device; the rest is sent as data.
            dataStart = pos;
        }
        return dataStart >= 0 && !addData(r, alloc, chunks, dataStart, end);
    }

    private boolean addData(NbdRequest r, ByteBufAllocator alloc, List<ByteBuf> chunks, long from, long to) {
        int length = (int) (to - from);
        ByteBuf buf = Replies.dataWithRoom(dataAllocator(length, alloc), r.cookie, false, from, length);
        try {
            readInto(buf, from, length);
            chunks.add(buf);
            return true;
        } catch (IOException | RuntimeException e) {
            buf.release();
            logReadFailure(r, e);
            int errno = e instanceof IOException io ? NbdErrno.fromIOException(io) : NbdErrno.EIO;
            stats.recordReply(errno);
            chunks.add(Replies.errorAt(alloc, r.cookie, false, errno, String.valueOf(e.getMessage()), from));
            return false;
        }
    }

    private static boolean hasHoleWorthSending(AllocationExtents.Descriptors layout) {
        for (int i = 0; i < layout.count(); i++) {
            if (isHoleWorthSending(layout, i)) {
                return true;
            }
        }
        return false;
    }

    private static boolean isHoleWorthSending(AllocationExtents.Descriptors layout, int i) {
        return (layout.flags(i) & StructuredReplyDescriptor.STATE_ZERO) != 0
                && layout.length(i) >= HOLE_CHUNK_MIN_BYTES;
    }

    private ByteBufAllocator dataAllocator(int length, ByteBufAllocator small) {
        return length >= DataBufferPool.MIN_POOLED_BYTES ? dataBuffers : small;
    }

    private void readInto(ByteBuf buf, long offset, int length) throws IOException {
        int at = buf.writerIndex();
        if (length > 0) {
            ByteBuffer dst = buf.nioBuffer(at, length);
            device.read(offset, dst);
        }
        buf.writerIndex(at + length);
    }

    private ByteBuf completedRead(ByteBuf buf, int length) {
        stats.recordReply(NbdErrno.OK);
        stats.addBytesRead(length);
        return buf;
    }

    // ------------------------------------------------------------------ streamed READs

    /**
     * A slice of a long READ from the device's memory, for the event loop; null when it is not all
     * in memory, or when a structured reply may describe holes (which needs the device's answer).
     * Counts the bytes read; the reply's outcome is counted by {@link #recordStreamedRead} at its end.
     */
    ByteBuf sliceIfCached(
            NbdRequest r, long offsetBytes, int lengthBytes, boolean first, boolean last, ByteBufAllocator alloc) {
        if (session.structuredReplies() && mayDescribeHoles(r)) {
            return null;
        }
        ByteBuf buf = sliceBuffer(r, offsetBytes, lengthBytes, first, last, alloc);
        int at = buf.writerIndex();
        try {
            if (device.readIfCached(offsetBytes, buf.nioBuffer(at, lengthBytes))) {
                buf.writerIndex(at + lengthBytes);
                stats.addBytesRead(lengthBytes);
                return buf;
            }
        } catch (RuntimeException e) {
            // A device bug; the blocking path reports it properly.
        }
        buf.release();
        return null;
    }

    /** A slice of a long READ read from the device. May block. */
    Slice readSlice(
            NbdRequest r, long offsetBytes, int lengthBytes, boolean first, boolean last, ByteBufAllocator alloc) {
        boolean structured = session.structuredReplies();
        if (structured && mayDescribeHoles(r)) {
            Slice sparse = readSparseSlice(r, offsetBytes, lengthBytes, last, alloc);
            if (sparse != null) {
                return sparse;
            }
        }
        ByteBuf buf = sliceBuffer(r, offsetBytes, lengthBytes, first, last, alloc);
        try {
            readInto(buf, offsetBytes, lengthBytes);
            stats.addBytesRead(lengthBytes);
            return new Slice(buf, NbdErrno.OK, null);
        } catch (IOException | RuntimeException e) {
            buf.release();
            logReadFailure(r, e);
            int errno = e instanceof IOException io ? NbdErrno.fromIOException(io) : NbdErrno.EIO;
            String message = String.valueOf(e.getMessage());
            stats.recordReply(errno);
            if (structured) {
                return new Slice(Replies.errorAt(alloc, r.cookie, true, errno, message, offsetBytes), errno, message);
            }
            return new Slice(first ? Replies.simple(alloc, r.cookie, errno) : null, errno, message);
        }
    }

    /** The slice as OFFSET_DATA and OFFSET_HOLE chunks, or null when it holds no hole worth sending. */
    private Slice readSparseSlice(
            NbdRequest r, long offsetBytes, int lengthBytes, boolean last, ByteBufAllocator alloc) {
        AllocationExtents.Descriptors layout;
        try {
            layout = AllocationExtents.describe(
                    device,
                    offsetBytes,
                    lengthBytes,
                    export.minimumBlockSizeBytes(),
                    AllocationExtents.MAX_DESCRIPTORS);
        } catch (IOException | RuntimeException e) {
            return null;
        }
        if (!hasHoleWorthSending(layout)) {
            return null;
        }
        List<ByteBuf> chunks = new ArrayList<>();
        try {
            boolean failed = addSparseChunks(r, alloc, layout, offsetBytes, offsetBytes + lengthBytes, chunks);
            if (last || failed) {
                Replies.markDone(chunks.get(chunks.size() - 1));
            }
            CompositeByteBuf bytes = alloc.compositeDirectBuffer(chunks.size());
            bytes.addComponents(true, chunks);
            if (failed) {
                return new Slice(bytes, NbdErrno.EIO, "read failed at a slice of " + r);
            }
            stats.addBytesRead(lengthBytes);
            return new Slice(bytes, NbdErrno.OK, null);
        } catch (RuntimeException | Error e) {
            for (ByteBuf chunk : chunks) {
                chunk.release();
            }
            throw e;
        }
    }

    /**
     * A buffer for one slice with room for its data: an OFFSET_DATA chunk (DONE on the last), or
     * for a simple reply the reply header before the first slice and bare data after it.
     */
    private ByteBuf sliceBuffer(
            NbdRequest r, long offsetBytes, int lengthBytes, boolean first, boolean last, ByteBufAllocator alloc) {
        ByteBufAllocator from = dataAllocator(lengthBytes, alloc);
        if (session.structuredReplies()) {
            return Replies.dataWithRoom(from, r.cookie, last, offsetBytes, lengthBytes);
        }
        return first ? Replies.simpleWithRoom(from, r.cookie, lengthBytes) : from.directBuffer(lengthBytes);
    }

    /** Counts a streamed READ that was answered in full (failures are counted where they happen). */
    void recordStreamedRead() {
        stats.recordReply(NbdErrno.OK);
    }

    // ------------------------------------------------------------------ pieced WRITEs

    /** Writes one piece of a long WRITE to the device. May block. */
    Outcome writePiece(WritePiece p) {
        ByteBuf payload = p.payload();
        try {
            if (p.request.hasFlag(FLAG_FUA)) {
                device.writeDurable(p.offsetBytes, payload.nioBuffer());
            } else if (payload.nioBufferCount() == 1) {
                device.write(p.offsetBytes, payload.nioBuffer());
            } else {
                device.writeGathered(p.offsetBytes, List.of(payload.nioBuffers()));
            }
            stats.addBytesWritten(p.lengthBytes);
            return Outcome.OK;
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, () -> export.name() + ": " + p + " failed", e);
            return new Outcome(NbdErrno.fromIOException(e), String.valueOf(e.getMessage()));
        } catch (IllegalArgumentException e) {
            return new Outcome(NbdErrno.EINVAL, String.valueOf(e.getMessage()));
        } catch (RuntimeException | OutOfMemoryError e) {
            LOG.log(System.Logger.Level.WARNING, () -> export.name() + ": " + p + " failed unexpectedly", e);
            return new Outcome(NbdErrno.EIO, e.toString());
        }
    }

    /** The reply to a WRITE executed piece by piece, counted in the export's statistics. */
    ByteBuf piecedWriteReply(NbdRequest r, Outcome outcome, ByteBufAllocator alloc) {
        stats.recordReply(outcome.errno());
        if (outcome.failed()) {
            return errorReply(r, outcome.errno(), outcome.message(), alloc);
        }
        return Replies.simple(alloc, r.cookie, NbdErrno.OK);
    }

    private ByteBuf blockStatus(NbdRequest r, ByteBufAllocator alloc) throws IOException {
        int max = r.hasFlag(FLAG_REQ_ONE) ? 1 : AllocationExtents.MAX_DESCRIPTORS;
        AllocationExtents.Descriptors d =
                AllocationExtents.describe(device, r.offsetBytes, r.lengthBytes, session.extentAlignmentBytes(), max);
        stats.recordReply(NbdErrno.OK);
        return Replies.blockStatus(alloc, r.cookie, session.allocationContextId(), d);
    }

    private void logReadFailure(NbdRequest r, Exception e) {
        LOG.log(System.Logger.Level.DEBUG, () -> export.name() + ": " + r + " failed", e);
    }
}
