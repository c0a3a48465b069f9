package io.raidd.nbd;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelConfig;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.util.AttributeKey;
import io.netty.util.UncheckedBooleanSupplier;

/**
 * Sizes a connection's socket reads by what it may still take of WRITE payload ({@link
 * ConnectionBudget#socketReadBytes}) once it transmits, so that payload read from the socket never
 * lands the connection (or the server) much beyond its limit before the decoder can stop reading:
 * the read itself is where memory is taken. Otherwise the wrapped allocator decides.
 *
 * <p>Reads of {@link DataBufferPool#MIN_POOLED_BYTES} and more (WRITE payload streaming in) take
 * recycled buffers from the server's {@link DataBufferPool}, in multiples of 64 KiB so that a few
 * size classes serve them all. Netty's allocator serves such sizes unpooled: a fresh zeroed
 * allocation on the event loop per read (seen in thread dumps of 16 clients streaming WRITEs,
 * delaying the other connections on the loop), freed to the C heap afterwards, where it stays
 * resident.
 */
final class BudgetedReads implements RecvByteBufAllocator {
    /** The connection's budget, set when it enters transmission. */
    static final AttributeKey<ConnectionBudget> BUDGET = AttributeKey.valueOf(BudgetedReads.class, "budget");

    /** The smallest read: a few request headers. */
    static final int MIN_READ_BYTES = 4096;

    private final RecvByteBufAllocator delegate;
    private final Channel channel;
    private final DataBufferPool largeBuffers;

    BudgetedReads(RecvByteBufAllocator delegate, Channel channel, DataBufferPool largeBuffers) {
        this.delegate = delegate;
        this.channel = channel;
        this.largeBuffers = largeBuffers;
    }

    @Override
    public Handle newHandle() {
        return new BudgetedHandle((ExtendedHandle) delegate.newHandle());
    }

    private final class BudgetedHandle implements ExtendedHandle {
        private final ExtendedHandle delegate;

        BudgetedHandle(ExtendedHandle delegate) {
            this.delegate = delegate;
        }

        @Override
        public ByteBuf allocate(ByteBufAllocator alloc) {
            int bytes = guess();
            if (bytes >= DataBufferPool.MIN_POOLED_BYTES) {
                return largeBuffers.directBuffer(
                        bytes / DataBufferPool.MIN_POOLED_BYTES * DataBufferPool.MIN_POOLED_BYTES);
            }
            return alloc.ioBuffer(bytes);
        }

        @Override
        public int guess() {
            int guess = delegate.guess();
            ConnectionBudget budget = channel.attr(BUDGET).get();
            return budget == null ? guess : Math.min(guess, budget.socketReadBytes(MIN_READ_BYTES));
        }

        @Override
        public void reset(ChannelConfig config) {
            delegate.reset(config);
        }

        @Override
        public void incMessagesRead(int numMessages) {
            delegate.incMessagesRead(numMessages);
        }

        @Override
        public void lastBytesRead(int bytes) {
            delegate.lastBytesRead(bytes);
        }

        @Override
        public int lastBytesRead() {
            return delegate.lastBytesRead();
        }

        @Override
        public void attemptedBytesRead(int bytes) {
            delegate.attemptedBytesRead(bytes);
        }

        @Override
        public int attemptedBytesRead() {
            return delegate.attemptedBytesRead();
        }

        @Override
        public boolean continueReading() {
            return delegate.continueReading();
        }

        @Override
        public boolean continueReading(UncheckedBooleanSupplier maybeMoreDataSupplier) {
            return delegate.continueReading(maybeMoreDataSupplier);
        }

        @Override
        public void readComplete() {
            delegate.readComplete();
        }
    }
}
