package io.raidd.nbd;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.handler.codec.DecoderException;
import io.netty.util.ReferenceCountUtil;
import io.raidd.blockdev.RescuableCall;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/**
 * The transmission phase of one connection: checks each decoded request on the event loop, runs it
 * on the I/O executor, and writes its reply when it completes, so replies leave in completion
 * order, not request order. Tracks what is in flight so that DISC, a protocol violation, export
 * removal or server shutdown can stop reading, let every accepted request finish and be answered,
 * and only then close.
 *
 * <p>READs wait in a queue for room in the {@link ConnectionBudget} and for the channel to be
 * writable, and only then is their data produced: a client that stops reading stops having its
 * READs issued, and holds no more than what was produced before it stopped. A READ up to {@link
 * CommandExecutor#READ_SLICE_BYTES} is produced whole: on the event loop when the device holds its
 * data in memory ({@link io.raidd.blockdev.BlockDevice#readIfCached}: a copy, no thread hand-off,
 * never a wait for a disk), else on an I/O thread. A longer READ is streamed: one slice at a time,
 * the next produced once the socket took the previous one. Its slices go out as OFFSET_DATA chunks
 * under structured replies; a simple reply is one header and the data behind it, so nothing else
 * may be written until it is complete (replies finishing meanwhile wait, and no other READ starts),
 * and a device error after its data started can only be answered by closing the connection.
 *
 * <p>A long WRITE arrives in {@link WritePiece}s, each written to the device as it comes; the reply
 * follows the last. A connection whose replies stay unread, or that stops sending in the middle of a
 * request, for the stall timeout is closed and logged, and everything it held is returned.
 */
final class NbdTransmissionHandler extends ChannelInboundHandlerAdapter {
    private static final System.Logger LOG = System.getLogger(NbdTransmissionHandler.class.getName());

    private final Channel channel;
    private final TransmissionSession session;
    private final CommandExecutor commands;
    private final FairSubmitter io;
    private final ConnectionBudget budget;
    private final NbdRequestDecoder decoder;
    private final long stallTimeoutNs;
    private final String peer;

    /** Work finished on I/O threads, waiting for the event loop to write its reply. */
    private final ConcurrentLinkedQueue<Finished> finished = new ConcurrentLinkedQueue<>();

    private final AtomicBoolean writeScheduled = new AtomicBoolean();

    /** A reply (or none) and what the event loop does with it. */
    private record Finished(ByteBuf reply, Consumer<ByteBuf> action) {}

    /** Joins adjacent plain WRITEs into {@link WriteRun}s up to this window; 0: never. */
    private final int optimalWriteBytes;

    /** The newest run of WRITEs, which the next adjacent WRITE may still join. Event loop only. */
    private WriteRun openRun;

    /**
     * True while {@link #openRun} is held back ("plugged", as the block layer says) because it
     * continues a sequential stream of writes, is not {@link WriteRun#complete complete}, and
     * other requests of this connection are in flight: the stream's next request is what would
     * complete it. Random writes are never held. Event loop only; see {@link #unplug}.
     */
    private boolean runPlugged;

    /** Requests handed to this handler and not yet answered. Event loop only. */
    private int outstanding;

    /** Where the last WRITE decoded on this connection ended: a run starting there is a stream. */
    private long lastWriteEndBytes = -1;

    /** READs waiting for room to produce their data, in arrival order. Event loop only. */
    private final ArrayDeque<NbdRequest> readQueue = new ArrayDeque<>();

    /** The READ being streamed in slices, if any. Event loop only. */
    private ReadStream stream;

    /** READs produced whole whose reply is not handed to the channel yet. Event loop only. */
    private int wholeReadsInProduction;

    /** Replies that finished while a simple-reply stream owns the wire. Event loop only. */
    private final ArrayDeque<Deferred> deferred = new ArrayDeque<>();

    private record Deferred(ByteBuf reply, NbdRequest request) {}

    /** The pieced WRITE whose pieces are still arriving. Event loop only. */
    private NbdRequest openPiecedWrite;

    private ScheduledFuture<?> watchdog;
    private long writesCompleted;
    private long writesCompletedSeen;
    private long pendingBytesSeen;
    private long lastOutputProgressNanos = System.nanoTime();

    private ChannelHandlerContext ctx;
    private boolean draining;
    private boolean closing;

    /** A READ longer than one slice, produced and written one slice at a time. */
    private static final class ReadStream {
        final NbdRequest request;
        final long endBytes;
        long nextBytes;
        /** Bytes of the budget held for the slice being produced or written. */
        long reservedBytes;
        /** A slice is reserved and not yet written. */
        boolean producing;

        ReadStream(NbdRequest request) {
            this.request = request;
            this.nextBytes = request.offsetBytes;
            this.endBytes = request.offsetBytes + request.lengthBytes;
        }

        boolean started() {
            return nextBytes != request.offsetBytes;
        }
    }

    NbdTransmissionHandler(
            Channel channel,
            TransmissionSession session,
            FairSubmitter io,
            ConnectionBudget budget,
            NbdRequestDecoder decoder,
            ByteBufAllocator dataBuffers,
            long stallTimeoutNs) {
        this.channel = channel;
        this.session = session;
        this.commands = new CommandExecutor(session, dataBuffers);
        this.io = io;
        this.budget = budget;
        this.decoder = decoder;
        this.stallTimeoutNs = stallTimeoutNs;
        this.peer = String.valueOf(channel.remoteAddress());
        this.optimalWriteBytes = session.export().device().optimalWriteBytes();
    }

    Channel channel() {
        return channel;
    }

    TransmissionSession session() {
        return session;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        long periodNs =
                Math.max(TimeUnit.MILLISECONDS.toNanos(50), Math.min(stallTimeoutNs / 8, TimeUnit.SECONDS.toNanos(5)));
        watchdog = ctx.executor().scheduleAtFixedRate(this::checkStalled, periodNs, periodNs, TimeUnit.NANOSECONDS);
        LOG.log(
                System.Logger.Level.DEBUG,
                () -> peer + " transmits on " + session.export().name() + "; limits now: " + budget.describe());
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof WritePiece piece) {
            onPiece(piece);
            return;
        }
        if (!(msg instanceof NbdRequest r)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (r.type == RequestDescriptor.CMD_DISC) {
            drain();
            return;
        }
        outstanding++;
        CommandExecutor.Refusal refusal = commands.check(r);
        if (refusal != null) {
            r.releasePayload();
            writeReplyAndFlush(commands.refuse(r, refusal, ctx.alloc()), r);
            return;
        }
        boolean continuesStream = false;
        if (r.type == RequestDescriptor.CMD_WRITE) {
            continuesStream = r.offsetBytes == lastWriteEndBytes;
            lastWriteEndBytes = r.offsetBytes + r.lengthBytes;
            if (openRun != null && openRun.tryAppend(r)) {
                // A request joining a held run was counted as outstanding when it arrived, so the
                // others in flight that hold the run back are still there; only completeness can
                // release it here.
                if (runPlugged && openRun.complete()) {
                    unplug();
                }
                return;
            }
        }
        unplug();
        if (r.type == RequestDescriptor.CMD_READ) {
            readQueue.addLast(r);
            pumpReads();
            return;
        }
        if (r.type == RequestDescriptor.CMD_WRITE) {
            openRun = WriteRun.startingWith(r, optimalWriteBytes);
            if (openRun != null) {
                if (!continuesStream || openRun.complete() || onlyTheOpenRunInFlight()) {
                    submitRun(openRun);
                } else {
                    runPlugged = true;
                }
                return;
            }
        }
        io.submit(new FairSubmitter.Task() {
            @Override
            public void run() {
                runOnIoThread(r);
            }

            @Override
            public void rejected() {
                refuseAtShutdown(r);
            }
        });
    }

    /**
     * Submits the plugged run. Called when the next request does not continue it, when it becomes
     * complete, when nothing else of the connection is in flight (so holding it could only add
     * latency: md's stripe cache, too, delays partial stripes only while other work is active),
     * and when the connection drains or closes. It stays open to adjacent writes until an I/O
     * thread starts it.
     */
    private void unplug() {
        if (runPlugged) {
            runPlugged = false;
            submitRun(openRun);
        }
    }

    /**
     * Whether every request this handler has and has not answered is in the open run. A request
     * whose payload is still arriving does not count: a client that stops sending mid-request must
     * not hold up its earlier writes.
     */
    private boolean onlyTheOpenRunInFlight() {
        return outstanding <= openRun.size();
    }

    private void submitRun(WriteRun run) {
        io.submit(new FairSubmitter.Task() {
            @Override
            public void run() {
                runOnIoThread(run.start());
            }

            @Override
            public void rejected() {
                for (NbdRequest r : run.start()) {
                    refuseAtShutdown(r);
                }
            }
        });
    }

    private void refuseAtShutdown(NbdRequest r) {
        r.releasePayload();
        deliver(shutdownReply(r), reply -> writeReply(reply, r));
    }

    private ByteBuf shutdownReply(NbdRequest r) {
        return commands.refuse(
                r, new CommandExecutor.Refusal(NbdErrno.ESHUTDOWN, "server is shutting down"), ctx.alloc());
    }

    /** Runs adjacent WRITEs as one device write; each request gets its own reply. */
    private void runOnIoThread(List<NbdRequest> run) {
        if (run.size() == 1) {
            runOnIoThread(run.get(0));
            return;
        }
        // A client that went away gets no reply, so its queued work is dropped unexecuted.
        if (!channel.isActive()) {
            for (NbdRequest r : run) {
                r.releasePayload();
                deliver(null, reply -> writeReply(reply, r));
            }
            return;
        }
        runRequests(run, () -> commands.executeWrites(run, ctx.alloc()));
    }

    private void runOnIoThread(NbdRequest r) {
        if (!channel.isActive()) {
            r.releasePayload();
            deliver(null, reply -> writeReply(reply, r));
            return;
        }
        runRequests(List.of(r), () -> List.of(commands.execute(r, ctx.alloc())));
    }

    /**
     * Runs the device work of {@code requests} and delivers their replies; payloads are released
     * once the replies that count are built (a rescue runs the requests again from their payloads).
     */
    private void runRequests(List<NbdRequest> requests, Callable<List<ByteBuf>> work) {
        runRescuable(
                work,
                (replies, failure) -> {
                    if (failure != null) {
                        LOG.log(System.Logger.Level.ERROR, "unexpected failure executing " + requests, failure);
                        replies = new ArrayList<>(requests.size());
                        for (NbdRequest r : requests) {
                            replies.add(commands.errorReply(r, NbdErrno.EIO, failure.toString(), ctx.alloc()));
                        }
                    }
                    for (int i = 0; i < requests.size(); i++) {
                        NbdRequest r = requests.get(i);
                        r.releasePayload();
                        deliver(replies.get(i), reply -> writeReply(reply, r));
                    }
                },
                replies -> {
                    if (replies != null) {
                        for (ByteBuf reply : replies) {
                            ReferenceCountUtil.release(reply);
                        }
                    }
                });
    }

    /**
     * Runs device work so that its outcome is delivered even if this thread gets stuck in a hung
     * disk: the device may deliver it from another thread ({@link
     * io.raidd.blockdev.BlockDevice#runRescuable}), and then this worker is counted out of the
     * connection's workers until it comes back.
     */
    private <T> void runRescuable(Callable<T> work, BiConsumer<T, Throwable> done, Consumer<T> discard) {
        Thread thread = Thread.currentThread();
        FairSubmitter.Worker worker = FairSubmitter.currentWorker();
        session.export().device().runRescuable(new RescuableCall<T>() {
            @Override
            public T run() throws Exception {
                return work.call();
            }

            @Override
            public void done(T value, Throwable failure) {
                if (Thread.currentThread() != thread) {
                    io.lost(worker);
                }
                done.accept(value, failure);
            }

            @Override
            public void discard(T value) {
                discard.accept(value);
            }
        });
    }

    /** Hands a reply finished on any thread to the event loop, which passes it to {@code action}. */
    private void deliver(ByteBuf reply, Consumer<ByteBuf> action) {
        if (ctx.executor().inEventLoop()) {
            action.accept(reply);
            ctx.flush();
            return;
        }
        finished.add(new Finished(reply, action));
        // One task writes every reply finished since it was scheduled, with one flush: under load
        // the event loop is woken once per batch, not once per request.
        if (writeScheduled.compareAndSet(false, true)) {
            try {
                ctx.executor().execute(this::writeFinished);
            } catch (RejectedExecutionException e) {
                // The event loop is gone, and with it the connection and its budget bookkeeping.
                Finished f;
                while ((f = finished.poll()) != null) {
                    ReferenceCountUtil.release(f.reply);
                }
            }
        }
    }

    private void writeFinished() {
        writeScheduled.set(false);
        Finished f;
        while ((f = finished.poll()) != null) {
            f.action.accept(f.reply);
        }
        ctx.flush();
    }

    private void writeReplyAndFlush(ByteBuf reply, NbdRequest r) {
        writeReply(reply, r);
        ctx.flush();
    }

    /** Writes a complete reply, or holds it while a simple-reply READ stream owns the wire. */
    private void writeReply(ByteBuf reply, NbdRequest r) {
        if (stream != null && stream.started() && !session.structuredReplies()) {
            deferred.addLast(new Deferred(reply, r));
            return;
        }
        if (reply == null) {
            onReplyDone(r);
            return;
        }
        ctx.write(reply).addListener(f -> {
            writesCompleted++;
            onReplyDone(r);
        });
    }

    private void onReplyDone(NbdRequest r) {
        outstanding--;
        budget.releaseRequest();
        budget.releasePayload(r.budgetBytes());
        if (runPlugged && onlyTheOpenRunInFlight()) {
            unplug();
        }
        finishDrainIfIdle();
    }

    // ------------------------------------------------------------------ READs

    /**
     * Starts the queued READs that may start, in order: each needs room in the budget for its data
     * (or first slice) and a writable channel. No READ starts while a simple-reply stream owns the
     * wire, and such a stream starts only when no other READ is being produced: the stream would
     * otherwise wait for room that replies queued behind it hold. One stream at a time.
     */
    private void pumpReads() {
        while (!readQueue.isEmpty()) {
            NbdRequest r = readQueue.peekFirst();
            boolean whole = r.lengthBytes <= CommandExecutor.READ_SLICE_BYTES;
            boolean structured = session.structuredReplies();
            if (stream != null && (!whole || !structured)) {
                return;
            }
            if (!whole && !structured && wholeReadsInProduction > 0) {
                return;
            }
            if (!channel.isWritable()) {
                return; // channelWritabilityChanged resumes
            }
            long bytes = Math.min(r.lengthBytes, CommandExecutor.READ_SLICE_BYTES);
            if (!budget.tryReserveReply(bytes, this::replyBudgetFreed)) {
                return;
            }
            readQueue.pollFirst();
            if (whole) {
                startWholeRead(r, bytes);
            } else {
                stream = new ReadStream(r);
                stream.reservedBytes = bytes;
                produceSlice(stream);
            }
        }
    }

    private void replyBudgetFreed() {
        continueStream();
        pumpReads();
    }

    private void startWholeRead(NbdRequest r, long reservedBytes) {
        wholeReadsInProduction++;
        ByteBuf cached = commands.readIfCached(r, ctx.alloc());
        if (cached != null) {
            writeRead(cached, r, reservedBytes);
            ctx.flush();
            return;
        }
        io.submit(new FairSubmitter.Task() {
            @Override
            public void run() {
                if (!channel.isActive()) {
                    deliver(null, reply -> writeRead(reply, r, reservedBytes));
                    return;
                }
                runRescuable(
                        () -> commands.execute(r, ctx.alloc()),
                        (reply, failure) -> {
                            if (failure != null) {
                                LOG.log(System.Logger.Level.ERROR, "unexpected failure executing " + r, failure);
                                reply = commands.errorReply(r, NbdErrno.EIO, failure.toString(), ctx.alloc());
                            }
                            deliver(reply, b -> writeRead(b, r, reservedBytes));
                        },
                        ReferenceCountUtil::release);
            }

            @Override
            public void rejected() {
                deliver(shutdownReply(r), reply -> writeRead(reply, r, reservedBytes));
            }
        });
    }

    /** Writes a whole READ's reply; its reservation returns when the socket has taken it. */
    private void writeRead(ByteBuf reply, NbdRequest r, long reservedBytes) {
        wholeReadsInProduction--;
        if (reply == null) {
            budget.releaseReply(reservedBytes);
            onReplyDone(r);
        } else {
            ctx.write(reply).addListener(f -> {
                writesCompleted++;
                budget.releaseReply(reservedBytes);
                onReplyDone(r);
            });
        }
        if (wholeReadsInProduction == 0 && !readQueue.isEmpty()) {
            pumpReads(); // a simple-reply stream may be waiting for a quiet wire
        }
    }

    /** Produces the stream's next slice, whose bytes are reserved: from memory here, else on an I/O thread. */
    private void produceSlice(ReadStream s) {
        s.producing = true;
        NbdRequest r = s.request;
        int length = (int) Math.min(CommandExecutor.READ_SLICE_BYTES, s.endBytes - s.nextBytes);
        boolean first = !s.started();
        boolean last = s.nextBytes + length == s.endBytes;
        long at = s.nextBytes;
        ByteBuf cached = commands.sliceIfCached(r, at, length, first, last, ctx.alloc());
        if (cached != null) {
            sliceProduced(s, new CommandExecutor.Slice(cached, NbdErrno.OK, null), length);
            return;
        }
        io.submit(new FairSubmitter.Task() {
            @Override
            public void run() {
                if (!channel.isActive()) {
                    deliver(null, b -> sliceProduced(s, null, length));
                    return;
                }
                runRescuable(
                        () -> commands.readSlice(r, at, length, first, last, ctx.alloc()),
                        (slice, failure) -> {
                            if (failure != null) {
                                LOG.log(System.Logger.Level.ERROR, "unexpected failure reading " + r, failure);
                                slice = new CommandExecutor.Slice(null, NbdErrno.EIO, failure.toString());
                            }
                            CommandExecutor.Slice result = slice;
                            deliver(result.bytes(), b -> sliceProduced(s, result, length));
                        },
                        slice -> {
                            if (slice != null) {
                                ReferenceCountUtil.release(slice.bytes());
                            }
                        });
            }

            @Override
            public void rejected() {
                deliver(null, b -> sliceProduced(s, null, length));
            }
        });
    }

    /** Writes a produced slice (or ends the stream); {@code slice} is null when nothing was produced. */
    private void sliceProduced(ReadStream s, CommandExecutor.Slice slice, int length) {
        if (slice == null || !channel.isActive()) {
            if (slice != null) {
                ReferenceCountUtil.release(slice.bytes());
            }
            budget.releaseReply(s.reservedBytes);
            endStream(s);
            return;
        }
        if (slice.failed() && slice.bytes() == null) {
            // A simple reply whose data has started cannot carry an error any more.
            budget.releaseReply(s.reservedBytes);
            LOG.log(
                    System.Logger.Level.WARNING,
                    "closing connection " + peer + ": " + s.request + " failed at offset "
                            + Long.toUnsignedString(s.nextBytes) + " after part of its simple reply was sent ("
                            + slice.message() + ")");
            endStream(s);
            ctx.close();
            return;
        }
        boolean done = slice.failed() || s.nextBytes + length == s.endBytes;
        s.nextBytes += length;
        long reserved = s.reservedBytes;
        ctx.write(slice.bytes()).addListener(f -> {
            writesCompleted++;
            budget.releaseReply(reserved);
            s.producing = false;
            if (done || !f.isSuccess()) {
                if (done && !slice.failed()) {
                    commands.recordStreamedRead();
                }
                endStream(s);
            } else {
                continueStream();
            }
        });
        ctx.flush();
    }

    /** Produces the next slice of the stream once the channel is writable and the budget has room. */
    private void continueStream() {
        ReadStream s = stream;
        if (s == null || s.producing || !channel.isWritable()) {
            return;
        }
        if (!channel.isActive()) {
            endStream(s);
            return;
        }
        long bytes = Math.min(CommandExecutor.READ_SLICE_BYTES, s.endBytes - s.nextBytes);
        if (!budget.tryReserveReply(bytes, this::replyBudgetFreed)) {
            return;
        }
        s.reservedBytes = bytes;
        produceSlice(s);
    }

    private void endStream(ReadStream s) {
        if (stream != s) {
            return;
        }
        stream = null;
        onReplyDone(s.request);
        Deferred d;
        while ((d = deferred.pollFirst()) != null) {
            writeReply(d.reply, d.request);
        }
        ctx.flush();
        pumpReads();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (channel.isWritable()) {
            continueStream();
            pumpReads();
        }
        ctx.fireChannelWritabilityChanged();
    }

    // ------------------------------------------------------------------ pieced WRITEs

    private void onPiece(WritePiece p) {
        NbdRequest r = p.request;
        NbdRequest.PiecedWrite w = r.pieces;
        if (p.first) {
            outstanding++;
            unplug();
            lastWriteEndBytes = r.offsetBytes + r.lengthBytes;
            w.refusal = commands.check(r);
            openPiecedWrite = r;
        }
        if (p.last) {
            w.lastArrived = true;
            openPiecedWrite = null;
        }
        if (w.refusal != null || w.errno != NbdErrno.OK || draining || !channel.isActive()) {
            // Refused, failed or going away: the rest of the payload is only taken off the wire.
            p.releasePayload();
            budget.releasePayload(p.lengthBytes);
            finishPiecedWrite(r);
            return;
        }
        w.executing++;
        io.submit(new FairSubmitter.Task() {
            @Override
            public void run() {
                if (!channel.isActive()) {
                    p.releasePayload();
                    deliver(null, b -> pieceDone(p, CommandExecutor.Outcome.OK));
                    return;
                }
                runRescuable(
                        () -> commands.writePiece(p),
                        (outcome, failure) -> {
                            if (failure != null) {
                                LOG.log(System.Logger.Level.ERROR, "unexpected failure executing " + p, failure);
                                outcome = new CommandExecutor.Outcome(NbdErrno.EIO, failure.toString());
                            }
                            p.releasePayload();
                            CommandExecutor.Outcome result = outcome;
                            deliver(null, b -> pieceDone(p, result));
                        },
                        outcome -> {});
            }

            @Override
            public void rejected() {
                p.releasePayload();
                deliver(
                        null,
                        b -> pieceDone(p, new CommandExecutor.Outcome(NbdErrno.ESHUTDOWN, "server is shutting down")));
            }
        });
    }

    private void pieceDone(WritePiece p, CommandExecutor.Outcome outcome) {
        NbdRequest.PiecedWrite w = p.request.pieces;
        w.executing--;
        if (outcome.failed() && w.errno == NbdErrno.OK) {
            w.errno = outcome.errno();
            w.message = outcome.message();
        }
        budget.releasePayload(p.lengthBytes);
        finishPiecedWrite(p.request);
    }

    /** Answers a pieced WRITE once its last piece arrived and no piece is executing. */
    private void finishPiecedWrite(NbdRequest r) {
        NbdRequest.PiecedWrite w = r.pieces;
        if (!w.lastArrived || w.executing > 0 || w.answered) {
            return;
        }
        w.answered = true;
        ByteBuf reply = null;
        if (channel.isActive()) {
            if (w.refusal != null) {
                reply = commands.refuse(r, w.refusal, ctx.alloc());
            } else {
                reply = commands.piecedWriteReply(r, new CommandExecutor.Outcome(w.errno, w.message), ctx.alloc());
            }
        }
        writeReplyAndFlush(reply, r);
    }

    /** A pieced WRITE whose remaining pieces will never come (the decoder stopped) is answered now. */
    private void abandonOpenPiecedWrite() {
        NbdRequest r = openPiecedWrite;
        if (r == null) {
            return;
        }
        openPiecedWrite = null;
        NbdRequest.PiecedWrite w = r.pieces;
        w.lastArrived = true;
        if (w.refusal == null && w.errno == NbdErrno.OK) {
            w.errno = NbdErrno.ESHUTDOWN;
            w.message = "the connection stopped before the payload was complete";
        }
        finishPiecedWrite(r);
    }

    // ------------------------------------------------------------------ stalls

    /**
     * Closes the connection when the client has left replies unread for the stall timeout (bytes
     * wait in the channel and the socket took none of them), or stopped sending in the middle of a
     * request's payload. Waiting for a slow device is not a stall.
     */
    private void checkStalled() {
        if (!channel.isActive() || closing) {
            return;
        }
        long now = System.nanoTime();
        ChannelOutboundBuffer out = channel.unsafe().outboundBuffer();
        long pending = out == null ? 0 : out.totalPendingWriteBytes();
        if (pending == 0 || writesCompleted != writesCompletedSeen || pending < pendingBytesSeen) {
            lastOutputProgressNanos = now;
        }
        writesCompletedSeen = writesCompleted;
        pendingBytesSeen = pending;
        long stalledNs = now - lastOutputProgressNanos;
        if (stalledNs >= stallTimeoutNs) {
            closeStalled("has left " + Sizes.format(pending) + " of replies unread for "
                    + TimeUnit.NANOSECONDS.toSeconds(stalledNs) + " s");
            return;
        }
        long silentNs = now - decoder.lastInputNanos();
        if (decoder.awaitingClientBytes() && silentNs >= stallTimeoutNs) {
            closeStalled("stopped sending in the middle of a request " + TimeUnit.NANOSECONDS.toSeconds(silentNs)
                    + " s ago");
        }
    }

    private void closeStalled(String why) {
        LOG.log(
                System.Logger.Level.WARNING,
                "closing stalled connection " + peer + " (export "
                        + session.export().name() + "): it " + why + "; it held " + budget.describe());
        channel.close();
    }

    // ------------------------------------------------------------------ lifecycle

    /**
     * Stops reading and closes once every accepted request has been answered: what DISC requires,
     * and how violations, export removal and shutdown end a session without losing replies.
     */
    void drain() {
        if (draining) {
            return;
        }
        draining = true;
        unplug();
        decoder.stop();
        abandonOpenPiecedWrite();
        finishDrainIfIdle();
    }

    /** Thread-safe: asks the connection to drain and close. */
    void shutdown() {
        try {
            channel.eventLoop().execute(this::drain);
        } catch (RejectedExecutionException e) {
            channel.close();
        }
    }

    private void finishDrainIfIdle() {
        if (draining && !closing && budget.requestsInFlight() == 0) {
            closing = true;
            // Replies already written are flushed before the close because writes stay ordered.
            ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof DecoderException) {
            LOG.log(
                    System.Logger.Level.DEBUG,
                    () -> "protocol violation from " + channel.remoteAddress() + ": " + cause.getMessage());
            drain();
        } else if (cause instanceof IOException) {
            ctx.close();
        } else {
            LOG.log(System.Logger.Level.WARNING, "closing connection " + channel.remoteAddress(), cause);
            ctx.close();
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (watchdog != null) {
            watchdog.cancel(false);
        }
        unplug(); // its requests are dropped unexecuted and their budget returned, like any queued one
        abandonOpenPiecedWrite();
        budget.close();
        // Nothing more will be written: queued READs and replies held behind a stream are dropped,
        // a stream waiting for room ends, and work still on I/O threads returns what it holds.
        NbdRequest r;
        while ((r = readQueue.pollFirst()) != null) {
            onReplyDone(r);
        }
        if (stream != null && !stream.producing) {
            endStream(stream);
        }
        Deferred d;
        while ((d = deferred.pollFirst()) != null) {
            ReferenceCountUtil.release(d.reply);
            onReplyDone(d.request);
        }
        session.entry().detach(this);
        LOG.log(System.Logger.Level.DEBUG, () -> peer + " closed; at close: " + budget.describe());
        ctx.fireChannelInactive();
    }
}
