package io.raidd.nbd;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderException;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The transmission phase of one connection: checks each decoded request on the event loop, runs it
 * on the I/O executor, and writes its reply when it completes, so replies leave in completion
 * order, not request order. The one exception is a READ whose data the device holds in memory
 * ({@link io.raidd.blockdev.BlockDevice#readIfCached}): the event loop copies it into the reply at
 * once, which costs no thread hand-off and can never wait for a disk. Tracks what is in flight so that DISC, a protocol violation, export
 * removal or server shutdown can stop reading, let every accepted request finish and be answered,
 * and only then close.
 */
final class NbdTransmissionHandler extends ChannelInboundHandlerAdapter {
    private static final System.Logger LOG = System.getLogger(NbdTransmissionHandler.class.getName());

    private final Channel channel;
    private final TransmissionSession session;
    private final CommandExecutor commands;
    private final FairSubmitter io;
    private final ConnectionBudget budget;
    private final NbdRequestDecoder decoder;

    /** Replies completed on I/O threads, waiting for the event loop to write them. */
    private final ConcurrentLinkedQueue<Finished> finished = new ConcurrentLinkedQueue<>();

    private final AtomicBoolean writeScheduled = new AtomicBoolean();

    private record Finished(ByteBuf reply, NbdRequest request) {}

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

    private ChannelHandlerContext ctx;
    private boolean draining;
    private boolean closing;

    NbdTransmissionHandler(
            Channel channel,
            TransmissionSession session,
            FairSubmitter io,
            ConnectionBudget budget,
            NbdRequestDecoder decoder,
            ByteBufAllocator dataBuffers) {
        this.channel = channel;
        this.session = session;
        this.commands = new CommandExecutor(session, dataBuffers);
        this.io = io;
        this.budget = budget;
        this.decoder = decoder;
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
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
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
            ByteBuf cached = commands.readIfCached(r, ctx.alloc());
            if (cached != null) {
                writeReplyAndFlush(cached, r);
                return;
            }
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
        ByteBuf reply = commands.refuse(
                r, new CommandExecutor.Refusal(NbdErrno.ESHUTDOWN, "server is shutting down"), ctx.alloc());
        sendFromAnyThread(reply, r);
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
                sendFromAnyThread(null, r);
            }
            return;
        }
        runRescuable(run, () -> commands.executeWrites(run, ctx.alloc()));
    }

    private void runOnIoThread(NbdRequest r) {
        if (!channel.isActive()) {
            r.releasePayload();
            sendFromAnyThread(null, r);
            return;
        }
        runRescuable(List.of(r), () -> List.of(commands.execute(r, ctx.alloc())));
    }

    /**
     * Runs the device work of {@code requests} so that their replies go out even if this thread
     * gets stuck in a hung disk: the device may answer from another thread ({@link
     * io.raidd.blockdev.BlockDevice#runRescuable}), and then this worker is counted out of the
     * connection's workers until it comes back. Payloads are released once the replies that count
     * are built (a rescue runs the requests again from their payloads).
     */
    private void runRescuable(List<NbdRequest> requests, java.util.concurrent.Callable<List<ByteBuf>> work) {
        Thread thread = Thread.currentThread();
        FairSubmitter.Worker worker = FairSubmitter.currentWorker();
        session.export().device().runRescuable(new io.raidd.blockdev.RescuableCall<List<ByteBuf>>() {
            @Override
            public List<ByteBuf> run() throws Exception {
                return work.call();
            }

            @Override
            public void done(List<ByteBuf> replies, Throwable failure) {
                if (Thread.currentThread() != thread) {
                    io.lost(worker);
                }
                if (failure != null) {
                    LOG.log(System.Logger.Level.ERROR, "unexpected failure executing " + requests, failure);
                    replies = new ArrayList<>(requests.size());
                    for (NbdRequest r : requests) {
                        replies.add(commands.errorReply(r, NbdErrno.EIO, failure.toString(), ctx.alloc()));
                    }
                }
                for (int i = 0; i < requests.size(); i++) {
                    requests.get(i).releasePayload();
                    sendFromAnyThread(replies.get(i), requests.get(i));
                }
            }

            @Override
            public void discard(List<ByteBuf> replies) {
                if (replies != null) {
                    for (ByteBuf reply : replies) {
                        ReferenceCountUtil.release(reply);
                    }
                }
            }
        });
    }

    private void sendFromAnyThread(ByteBuf reply, NbdRequest r) {
        if (ctx.executor().inEventLoop()) {
            writeReplyAndFlush(reply, r);
            return;
        }
        finished.add(new Finished(reply, r));
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
            writeReply(f.reply, f.request);
        }
        ctx.flush();
    }

    private void writeReplyAndFlush(ByteBuf reply, NbdRequest r) {
        writeReply(reply, r);
        ctx.flush();
    }

    private void writeReply(ByteBuf reply, NbdRequest r) {
        if (reply == null) {
            onReplyDone(r);
            return;
        }
        ctx.write(reply).addListener(f -> onReplyDone(r));
    }

    private void onReplyDone(NbdRequest r) {
        outstanding--;
        budget.release(r.budgetBytes());
        if (runPlugged && onlyTheOpenRunInFlight()) {
            unplug();
        }
        finishDrainIfIdle();
    }

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
        unplug(); // its requests are dropped unexecuted and their budget returned, like any queued one
        budget.close();
        session.entry().detach(this);
        ctx.fireChannelInactive();
    }
}
