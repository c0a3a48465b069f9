package io.raidd.nbd;

import static io.raidd.nbd.NbdErrno.EINVAL;
import static io.raidd.nbd.NbdErrno.EIO;
import static io.raidd.nbd.NbdErrno.ENOSPC;
import static io.raidd.nbd.NbdErrno.ENOTSUP;
import static io.raidd.nbd.NbdErrno.EPERM;
import static io.raidd.nbd.RequestDescriptor.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raidd.blockdev.MemoryBlockDevice;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The transmission phase through an EmbeddedChannel, device calls inline: every command and error. */
@ExtendWith(LeakCheck.class)
class NbdTransmissionTest {
    private static final long SIZE = EmbeddedNbd.SIZE;

    private final TestDevice device = new TestDevice(new MemoryBlockDevice(SIZE));

    private EmbeddedNbd simple(String export) {
        EmbeddedNbd nbd = new EmbeddedNbd(NbdServerConfig.builder().build(), device).handshake();
        nbd.go(export);
        return nbd;
    }

    private EmbeddedNbd structured(boolean metaContext, int... infos) {
        EmbeddedNbd nbd = new EmbeddedNbd(NbdServerConfig.builder().build(), device).handshake();
        nbd.optionExpectingOne(OptionDescriptor.OPT_STRUCTURED_REPLY, new byte[0]);
        if (metaContext) {
            nbd.option(OptionDescriptor.OPT_SET_META_CONTEXT, RawNbdClient.metaContextData("mem", "base:allocation"));
        }
        nbd.go("mem", infos);
        return nbd;
    }

    private static byte[] pattern(int length, long seed) {
        byte[] b = new byte[length];
        new Random(seed).nextBytes(b);
        return b;
    }

    private int error(EmbeddedNbd nbd, int flags, int type, long cookie, long offset, long length) throws IOException {
        nbd.request(flags, type, cookie, offset, length);
        return nbd.replies().errorOfNextReply(cookie);
    }

    @Test
    void writeThenReadWithSimpleReplies() throws IOException {
        try (EmbeddedNbd nbd = simple("mem")) {
            byte[] data = pattern(5000, 1);
            nbd.write(0, 0x0102030405060708L, 1234, data);
            RawNbdClient.SimpleReply w = nbd.replies().readSimpleReply(0);
            assertEquals(0x0102030405060708L, w.cookie());
            assertEquals(0, w.error());
            nbd.request(0, CMD_READ, -1L, 1234, 5000);
            RawNbdClient.SimpleReply r = nbd.replies().readSimpleReply(5000);
            assertEquals(-1L, r.cookie(), "cookie echoed unchanged");
            assertArrayEquals(data, r.data());
            assertEquals(1, device.writes.get());
            assertEquals(0, device.durableWrites.get());
            NbdExportStats stats = nbd.registry.get("mem").stats;
            assertEquals(2, stats.requests());
            assertEquals(5000, stats.bytesRead());
            assertEquals(5000, stats.bytesWritten());
        }
    }

    @Test
    void requestsSentRightBehindGoAreNotLost() throws IOException {
        device.write(0, ByteBuffer.wrap(pattern(512, 8)));
        try (EmbeddedNbd nbd = new EmbeddedNbd(NbdServerConfig.builder().build(), device).handshake()) {
            byte[] go = RawNbdClient.infoData("mem");
            io.netty.buffer.ByteBuf both = io.netty.buffer.Unpooled.buffer();
            both.writeLong(HandshakeDescriptor.IHAVEOPT)
                    .writeInt(OptionDescriptor.OPT_GO)
                    .writeInt(go.length);
            both.writeBytes(go);
            both.writeBytes(EmbeddedNbd.header(0, CMD_READ, 99, 0, 512));
            nbd.send(both);
            List<RawNbdClient.OptionReply> replies = nbd.readFinalReplies();
            assertEquals(
                    OptionDescriptor.REP_ACK, replies.get(replies.size() - 1).type());
            RawNbdClient.SimpleReply r = nbd.replies().readSimpleReply(512);
            assertEquals(99, r.cookie());
            assertArrayEquals(pattern(512, 8), r.data());
        }
    }

    @Test
    void fuaWriteIsDurableAndFuaTrimAndZeroFlush() throws IOException {
        try (EmbeddedNbd nbd = simple("mem")) {
            nbd.write(FLAG_FUA, 1, 0, new byte[512]);
            assertEquals(0, nbd.replies().readSimpleReply(0).error());
            assertEquals(1, device.durableWrites.get());
            assertEquals(0, error(nbd, FLAG_FUA, CMD_TRIM, 2, 0, 4096));
            assertEquals(1, device.flushes.get());
            assertEquals(0, error(nbd, FLAG_FUA, CMD_WRITE_ZEROES, 3, 0, 4096));
            assertEquals(2, device.flushes.get());
            assertEquals(0, error(nbd, 0, CMD_FLUSH, 4, 0, 0));
            assertEquals(3, device.flushes.get());
            // FUA is valid on every command once advertised, even where it means nothing.
            assertEquals(0, error(nbd, FLAG_FUA, CMD_CACHE, 5, 0, 4096));
        }
    }

    @Test
    void rangeErrorsFollowTheSpec() throws IOException {
        try (EmbeddedNbd nbd = simple("mem")) {
            nbd.request(0, CMD_READ, 1, SIZE - 100, 200);
            assertEquals(EINVAL, nbd.replies().readSimpleReply(200).error());
            nbd.write(0, 2, SIZE - 100, new byte[200]);
            assertEquals(ENOSPC, nbd.replies().readSimpleReply(0).error());
            assertEquals(EINVAL, error(nbd, 0, CMD_TRIM, 3, SIZE, 1));
            assertEquals(ENOSPC, error(nbd, 0, CMD_WRITE_ZEROES, 4, SIZE - 1, 2));
            assertEquals(EINVAL, error(nbd, 0, CMD_CACHE, 5, SIZE + 1, 0));
            // An offset with the top bit set is beyond any export, not a negative number.
            nbd.request(0, CMD_READ, 6, 0x8000_0000_0000_0000L, 512);
            assertEquals(EINVAL, nbd.replies().readSimpleReply(512).error());
            assertEquals(EINVAL, error(nbd, 0, CMD_FLUSH, 7, 1, 0));
            // The end itself is fine.
            assertEquals(0, error(nbd, 0, CMD_WRITE_ZEROES, 8, SIZE - 512, 512));
            assertEquals(0, device.writes.get(), "refused writes never reach the device");
            assertEquals(7, nbd.registry.get("mem").stats.errors());
        }
    }

    @Test
    void unknownCommandsAndInvalidFlagsAreEinval() throws IOException {
        try (EmbeddedNbd nbd = simple("mem")) {
            assertEquals(EINVAL, error(nbd, 0, 8, 1, 0, 0));
            assertEquals(EINVAL, error(nbd, 0, 0xffff, 2, 0, 512));
            // DF needs structured replies; REQ_ONE is for BLOCK_STATUS; bit 15 is nobody's.
            nbd.request(FLAG_DF, CMD_READ, 3, 0, 512);
            assertEquals(EINVAL, nbd.replies().readSimpleReply(512).error());
            nbd.request(FLAG_REQ_ONE, CMD_READ, 4, 0, 512);
            assertEquals(EINVAL, nbd.replies().readSimpleReply(512).error());
            assertEquals(EINVAL, error(nbd, 1 << 15, CMD_FLUSH, 5, 0, 0));
            assertEquals(EINVAL, error(nbd, FLAG_NO_HOLE, CMD_TRIM, 6, 0, 512));
            // BLOCK_STATUS without a negotiated context.
            assertEquals(EINVAL, error(nbd, 0, CMD_BLOCK_STATUS, 7, 0, 512));
            assertTrue(nbd.isOpen());
        }
    }

    @Test
    void readOnlyExportRefusesWritesWithEperm() throws IOException {
        try (EmbeddedNbd nbd = simple("ro")) {
            nbd.write(0, 1, 0, new byte[512]);
            assertEquals(EPERM, nbd.replies().readSimpleReply(0).error());
            assertEquals(EPERM, error(nbd, 0, CMD_TRIM, 2, 0, 512));
            assertEquals(EPERM, error(nbd, 0, CMD_WRITE_ZEROES, 3, 0, 512));
            // FUA is not advertised on a read-only export, so it is an invalid flag there.
            nbd.write(FLAG_FUA, 4, 0, new byte[512]);
            assertEquals(EINVAL, nbd.replies().readSimpleReply(0).error());
            assertEquals(0, error(nbd, 0, CMD_FLUSH, 5, 0, 0));
            nbd.request(0, CMD_READ, 6, 0, 512);
            assertEquals(0, nbd.replies().readSimpleReply(512).error());
        }
    }

    @Test
    void zeroLengthRequestsSucceedWithoutData() throws IOException {
        try (EmbeddedNbd nbd = simple("mem")) {
            nbd.request(0, CMD_READ, 1, 0, 0);
            RawNbdClient.SimpleReply r = nbd.replies().readSimpleReply(0);
            assertEquals(0, r.error());
            nbd.write(0, 2, 0, new byte[0]);
            assertEquals(0, nbd.replies().readSimpleReply(0).error());
            assertEquals(0, error(nbd, 0, CMD_TRIM, 3, 0, 0));
            assertFalse(nbd.output().isReadable(), "nothing beyond the replies");
        }
        try (EmbeddedNbd nbd = structured(true)) {
            nbd.request(0, CMD_READ, 4, 0, 0);
            List<RawNbdClient.Chunk> chunks = nbd.replies().readStructuredReply(4);
            assertEquals(1, chunks.size());
            assertEquals(StructuredReplyDescriptor.TYPE_NONE, chunks.get(0).type());
            assertEquals(EINVAL, error(nbd, 0, CMD_BLOCK_STATUS, 5, 0, 0));
        }
    }

    @Test
    void readsInTheDevicesMemoryAreServedWithoutTheDeviceReadPath() throws IOException {
        device.cachedReads = true;
        byte[] data = pattern(256 * 1024, 12);
        device.write(0, ByteBuffer.wrap(data));
        try (EmbeddedNbd nbd = simple("mem")) {
            nbd.request(0, CMD_READ, 1, 4096, 8192);
            RawNbdClient.SimpleReply r = nbd.replies().readSimpleReply(8192);
            assertEquals(0, r.error());
            assertArrayEquals(Arrays.copyOfRange(data, 4096, 4096 + 8192), r.data());
            assertEquals(1, device.cachedReadHits.get());
            assertEquals(0, device.reads.get(), "no blocking read for data held in memory");
        }
        try (EmbeddedNbd nbd = structured(false)) {
            nbd.request(0, CMD_READ, 2, 512, 4096);
            RawNbdClient.ReadResult small = ReplyReader.assemble(nbd.replies().readStructuredReply(2), 512, 4096);
            assertEquals(1, small.dataChunks());
            assertArrayEquals(Arrays.copyOfRange(data, 512, 512 + 4096), small.data());
            assertEquals(2, device.cachedReadHits.get());
            // A long structured read may describe holes, which needs the device's allocation map.
            nbd.request(0, CMD_READ, 3, 0, data.length);
            RawNbdClient.ReadResult large = ReplyReader.assemble(nbd.replies().readStructuredReply(3), 0, data.length);
            assertArrayEquals(data, large.data());
            assertEquals(2, device.cachedReadHits.get());
            assertEquals(1, device.reads.get());
            // The same read with DF is one data chunk: served from memory.
            nbd.request(FLAG_DF, CMD_READ, 4, 0, data.length);
            assertArrayEquals(
                    data,
                    ReplyReader.assemble(nbd.replies().readStructuredReply(4), 0, data.length)
                            .data());
            assertEquals(3, device.cachedReadHits.get());
            assertEquals(1, device.reads.get());
        }
    }

    @Test
    void structuredReadSendsHolesAsHolesAndDfAsOneChunk() throws IOException {
        byte[] data = pattern(64 * 1024, 2);
        device.write(128 * 1024, ByteBuffer.wrap(data));
        try (EmbeddedNbd nbd = structured(false)) {
            int length = 256 * 1024;
            nbd.request(0, CMD_READ, 7, 0, length);
            RawNbdClient.ReadResult sparse = ReplyReader.assemble(nbd.replies().readStructuredReply(7), 0, length);
            assertEquals(0, sparse.errno());
            assertEquals(1, sparse.dataChunks());
            assertEquals(2, sparse.holeChunks());
            byte[] expected = new byte[length];
            System.arraycopy(data, 0, expected, 128 * 1024, data.length);
            assertArrayEquals(expected, sparse.data());

            nbd.request(FLAG_DF, CMD_READ, 8, 0, length);
            RawNbdClient.ReadResult whole = ReplyReader.assemble(nbd.replies().readStructuredReply(8), 0, length);
            assertEquals(1, whole.dataChunks());
            assertEquals(0, whole.holeChunks());
            assertArrayEquals(expected, whole.data());
        }
    }

    @Test
    void withoutSparseReadsAStructuredReadIsOneDataChunkAndNoAllocationLookup() throws IOException {
        byte[] data = pattern(64 * 1024, 3);
        device.write(128 * 1024, ByteBuffer.wrap(data));
        try (EmbeddedNbd nbd =
                new EmbeddedNbd(NbdServerConfig.builder().build(), device, Runnable::run, false).handshake()) {
            nbd.optionExpectingOne(OptionDescriptor.OPT_STRUCTURED_REPLY, new byte[0]);
            nbd.go("mem");
            int length = 256 * 1024;
            int lookups = device.allocations.get();
            nbd.request(0, CMD_READ, 7, 0, length);
            RawNbdClient.ReadResult r = ReplyReader.assemble(nbd.replies().readStructuredReply(7), 0, length);
            assertEquals(0, r.errno());
            assertEquals(1, r.dataChunks());
            assertEquals(0, r.holeChunks());
            byte[] expected = new byte[length];
            System.arraycopy(data, 0, expected, 128 * 1024, data.length);
            assertArrayEquals(expected, r.data());
            assertEquals(lookups, device.allocations.get(), "no allocation lookup on the read path");
        }
    }

    @Test
    void structuredErrorsCarryAMessage() throws IOException {
        try (EmbeddedNbd nbd = structured(false)) {
            nbd.request(0, CMD_READ, 9, SIZE, 512);
            List<RawNbdClient.Chunk> chunks = nbd.replies().readStructuredReply(9);
            assertEquals(1, chunks.size());
            RawNbdClient.Chunk c = chunks.get(0);
            assertEquals(StructuredReplyDescriptor.TYPE_ERROR, c.type());
            ByteBuffer b = ByteBuffer.wrap(c.payload());
            assertEquals(EINVAL, b.getInt());
            int messageLength = b.getShort();
            assertEquals(c.payload().length - 6, messageLength);
            assertTrue(new String(c.payload(), 6, messageLength).contains("beyond the end"));
        }
    }

    @Test
    void deviceErrorsBecomeEioOrEnospc() throws IOException {
        try (EmbeddedNbd nbd = simple("mem")) {
            device.failNextIo.set(new IOException("medium error"));
            nbd.request(0, CMD_READ, 1, 0, 4096);
            assertEquals(EIO, nbd.replies().readSimpleReply(4096).error());
            device.failNextIo.set(new IOException("No space left on device"));
            nbd.write(0, 2, 0, new byte[4096]);
            assertEquals(ENOSPC, nbd.replies().readSimpleReply(0).error());
            nbd.request(0, CMD_READ, 3, 0, 4096);
            assertEquals(0, nbd.replies().readSimpleReply(4096).error(), "later requests unaffected");
        }
        try (EmbeddedNbd nbd = structured(false)) {
            device.failNextIo.set(new IOException("medium error"));
            nbd.request(0, CMD_READ, 4, 4096, 4096);
            RawNbdClient.Chunk c = nbd.replies().readStructuredReply(4).get(0);
            assertEquals(StructuredReplyDescriptor.TYPE_ERROR_OFFSET, c.type());
            ByteBuffer b = ByteBuffer.wrap(c.payload());
            assertEquals(EIO, b.getInt());
            assertEquals(4096, b.getLong(c.payload().length - 8), "error offset inside the request");
        }
    }

    @Test
    void sparseReadFailingMidwayKeepsEarlierChunksAndEndsWithErrorOffset() throws IOException {
        device.write(64 * 1024, ByteBuffer.wrap(pattern(64 * 1024, 9)));
        try (EmbeddedNbd nbd = structured(false)) {
            device.failNextIo.set(new IOException("medium error"));
            nbd.request(0, CMD_READ, 5, 0, 256 * 1024);
            List<RawNbdClient.Chunk> chunks = nbd.replies().readStructuredReply(5);
            assertEquals(
                    StructuredReplyDescriptor.TYPE_OFFSET_HOLE, chunks.get(0).type());
            RawNbdClient.Chunk last = chunks.get(chunks.size() - 1);
            assertEquals(StructuredReplyDescriptor.TYPE_ERROR_OFFSET, last.type());
            ByteBuffer b = ByteBuffer.wrap(last.payload());
            assertEquals(EIO, b.getInt());
            assertEquals(64 * 1024, b.getLong(last.payload().length - 8), "the data chunk that failed");
            assertEquals(EIO, ReplyReader.assemble(chunks, 0, 256 * 1024).errno());
        }
    }

    @Test
    void writeZeroesVariants() throws IOException {
        device.write(0, ByteBuffer.wrap(pattern(1 << 20, 3)));
        try (EmbeddedNbd nbd = simple("mem")) {
            assertEquals(0, error(nbd, 0, CMD_WRITE_ZEROES, 1, 0, 8192));
            assertEquals(1, device.writeZeroes.get());
            int writesBefore = device.writes.get();
            assertEquals(0, error(nbd, FLAG_NO_HOLE, CMD_WRITE_ZEROES, 2, 100_000, 3000));
            assertEquals(writesBefore + 1, device.writes.get(), "NO_HOLE writes real zeroes");
            assertEquals(1, device.writeZeroes.get());
            assertEquals(0, error(nbd, FLAG_FAST_ZERO, CMD_WRITE_ZEROES, 3, 200_000, 5000));
            assertEquals(ENOTSUP, error(nbd, FLAG_FAST_ZERO | FLAG_NO_HOLE, CMD_WRITE_ZEROES, 4, 0, 512));
            byte[] check = new byte[1 << 20];
            device.read(0, ByteBuffer.wrap(check));
            byte[] expected = pattern(1 << 20, 3);
            java.util.Arrays.fill(expected, 0, 8192, (byte) 0);
            java.util.Arrays.fill(expected, 100_000, 103_000, (byte) 0);
            java.util.Arrays.fill(expected, 200_000, 205_000, (byte) 0);
            assertArrayEquals(expected, check);
        }
    }

    @Test
    void fastZeroIsRefusedQuicklyWhenTheExportCannotZeroFast() throws IOException {
        NbdServerConfig config = NbdServerConfig.builder().build();
        try (EmbeddedNbd nbd = new EmbeddedNbd(config, device)) {
            nbd.registry.add(NbdExport.builder("slow", device).build());
            nbd.handshake().go("slow");
            assertEquals(ENOTSUP, error(nbd, FLAG_FAST_ZERO, CMD_WRITE_ZEROES, 1, 0, 4096));
            assertEquals(0, device.writeZeroes.get());
            assertEquals(0, error(nbd, 0, CMD_WRITE_ZEROES, 2, 0, 4096));
        }
    }

    @Test
    void blockStatusReportsAllocationAndHonoursReqOne() throws IOException {
        device.write(64 * 1024, ByteBuffer.wrap(new byte[64 * 1024]));
        try (EmbeddedNbd nbd = structured(true)) {
            nbd.request(0, CMD_BLOCK_STATUS, 11, 0, 256 * 1024);
            List<RawNbdClient.Chunk> chunks = nbd.replies().readStructuredReply(11);
            assertEquals(1, chunks.size());
            ByteBuffer b = ByteBuffer.wrap(chunks.get(0).payload());
            assertEquals(
                    StructuredReplyDescriptor.TYPE_BLOCK_STATUS, chunks.get(0).type());
            assertEquals(CommandExecutor.ALLOCATION_CONTEXT_ID, b.getInt());
            int hz = StructuredReplyDescriptor.STATE_HOLE | StructuredReplyDescriptor.STATE_ZERO;
            assertEquals(64 * 1024, b.getInt());
            assertEquals(hz, b.getInt());
            assertEquals(64 * 1024, b.getInt());
            assertEquals(0, b.getInt());
            assertEquals(128 * 1024, b.getInt());
            assertEquals(hz, b.getInt());
            assertFalse(b.hasRemaining());

            nbd.request(FLAG_REQ_ONE, CMD_BLOCK_STATUS, 12, 1024, 4096);
            ByteBuffer one =
                    ByteBuffer.wrap(nbd.replies().readStructuredReply(12).get(0).payload());
            one.getInt();
            assertEquals(4096, one.getInt(), "one extent, no longer than the request");
            assertEquals(hz, one.getInt());
            assertFalse(one.hasRemaining());
            assertEquals(EINVAL, error(nbd, 0, CMD_BLOCK_STATUS, 13, SIZE - 512, 1024));
        }
    }

    @Test
    void clientsThatAgreedToBlockSizesMustAlign() throws IOException {
        try (EmbeddedNbd nbd = structured(false, OptionDescriptor.INFO_BLOCK_SIZE)) {
            nbd.request(0, CMD_READ, 1, 100, 512);
            assertEquals(EINVAL, nbd.replies().errorOfNextReply(1));
            nbd.write(0, 2, 512, new byte[100]);
            assertEquals(EINVAL, nbd.replies().errorOfNextReply(2));
            nbd.request(0, CMD_READ, 3, 512, 512);
            assertEquals(
                    0,
                    ReplyReader.assemble(nbd.replies().readStructuredReply(3), 512, 512)
                            .errno());
        }
        try (EmbeddedNbd nbd = simple("mem")) {
            nbd.write(0, 4, 100, new byte[3]);
            assertEquals(0, nbd.replies().readSimpleReply(0).error(), "no agreement, byte granularity");
        }
    }

    @Test
    void oversizeRequestsAreRefusedAndTheStreamStaysInSync() throws IOException {
        try (EmbeddedNbd nbd = simple("mem")) {
            nbd.request(0, CMD_READ, 1, 0, 64L << 20);
            assertEquals(EINVAL, nbd.replies().readSimpleReply(0).error());
            nbd.request(0, CMD_WRITE, 2, 0, 33L << 20);
            byte[] chunk = new byte[1 << 20];
            for (int i = 0; i < 33; i++) {
                nbd.send(chunk);
            }
            assertEquals(EINVAL, nbd.replies().readSimpleReply(0).error());
            assertEquals(0, device.writes.get());
            nbd.request(0, CMD_READ, 3, 0, 512);
            assertEquals(0, nbd.replies().readSimpleReply(512).error());
        }
    }

    @Test
    void discClosesAndBadMagicClosesAfterPendingReplies() throws IOException {
        try (EmbeddedNbd nbd = simple("mem")) {
            nbd.request(0, CMD_DISC, 1, 0, 0);
            assertFalse(nbd.isOpen());
            assertFalse(nbd.output().isReadable(), "DISC has no reply");
        }
        try (EmbeddedNbd nbd = simple("mem")) {
            io.netty.buffer.ByteBuf both = EmbeddedNbd.header(0, CMD_READ, 1, 0, 512);
            both.writeBytes(new byte[28]);
            nbd.send(both);
            assertEquals(0, nbd.replies().readSimpleReply(512).error(), "reply to the valid request first");
            assertFalse(nbd.isOpen());
        }
    }
}
