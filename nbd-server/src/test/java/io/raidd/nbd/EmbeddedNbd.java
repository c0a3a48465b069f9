package io.raidd.nbd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.raidd.blockdev.BlockDevice;
import io.raidd.blockdev.MemoryBlockDevice;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;

/**
 * A server connection inside an {@link EmbeddedChannel}: the real negotiation and transmission
 * handlers, device calls run inline on the test thread, and helpers to feed client bytes and parse
 * what the server wrote.
 */
final class EmbeddedNbd implements AutoCloseable {
    static final long SIZE = 4L << 20;

    final ExportRegistry registry;
    final ServerContext context;
    final EmbeddedChannel channel;
    final BlockDevice device;
    private final ByteBuf pending = Unpooled.buffer();

    EmbeddedNbd() {
        this(NbdServerConfig.builder().defaultExport("mem").build(), new MemoryBlockDevice(SIZE));
    }

    EmbeddedNbd(NbdServerConfig config, BlockDevice device) {
        this(config, device, Runnable::run);
    }

    EmbeddedNbd(NbdServerConfig config, BlockDevice device, Executor ioExecutor) {
        this(config, device, ioExecutor, true);
    }

    EmbeddedNbd(NbdServerConfig config, BlockDevice device, Executor ioExecutor, boolean sparseReads) {
        this.device = device;
        this.registry = new ExportRegistry(config.defaultExportName().orElse(null));
        registry.add(NbdExport.builder("mem", device)
                .description("memory")
                .fastZero(true)
                .sparseReads(sparseReads)
                .build());
        registry.add(NbdExport.builder("ro", new MemoryBlockDevice(1 << 20))
                .readOnly(true)
                .build());
        this.context = new ServerContext(config, registry, ioExecutor);
        this.channel = new EmbeddedChannel(new NbdNegotiationHandler(context));
    }

    /** Feeds client bytes and runs the tasks they cause (I/O completions, deferred resumes). */
    void send(ByteBuf bytes) {
        channel.writeInbound(bytes);
        channel.runPendingTasks();
    }

    void send(byte[] bytes) {
        send(Unpooled.wrappedBuffer(bytes));
    }

    void sendInt(int v) {
        send(Unpooled.buffer(4).writeInt(v));
    }

    void sendOption(int option, byte[] data) {
        ByteBuf b = Unpooled.buffer();
        b.writeLong(HandshakeDescriptor.IHAVEOPT)
                .writeInt(option)
                .writeInt(data.length)
                .writeBytes(data);
        send(b);
    }

    /** Everything the server has written so far, appended to what earlier calls left unread. */
    ByteBuf output() {
        channel.runPendingTasks();
        Object o;
        while ((o = channel.readOutbound()) != null) {
            ByteBuf b = (ByteBuf) o;
            pending.writeBytes(b);
            b.release();
        }
        return pending;
    }

    /** A parser over the server's output; reads consume it. */
    ReplyReader replies() {
        return new ReplyReader(new java.io.DataInputStream(new io.netty.buffer.ByteBufInputStream(output())));
    }

    void write(int flags, long cookie, long offset, byte[] data) {
        ByteBuf b = header(flags, RequestDescriptor.CMD_WRITE, cookie, offset, data.length);
        send(Unpooled.wrappedBuffer(b, Unpooled.wrappedBuffer(data)));
    }

    void expectGreeting() {
        ByteBuf out = output();
        assertEquals(HandshakeDescriptor.GREETING_LENGTH, out.readableBytes());
        assertEquals(HandshakeDescriptor.NBDMAGIC, out.readLong());
        assertEquals(HandshakeDescriptor.IHAVEOPT, out.readLong());
        assertEquals(HandshakeDescriptor.FLAG_FIXED_NEWSTYLE | HandshakeDescriptor.FLAG_NO_ZEROES, out.readShort());
    }

    EmbeddedNbd handshake() {
        expectGreeting();
        sendInt(HandshakeDescriptor.CLIENT_FLAG_FIXED_NEWSTYLE | HandshakeDescriptor.CLIENT_FLAG_NO_ZEROES);
        return this;
    }

    RawNbdClient.OptionReply readReply() {
        ByteBuf out = output();
        assertTrue(out.readableBytes() >= OptionDescriptor.REPLY_HEADER_LENGTH, "no option reply written");
        assertEquals(OptionDescriptor.REPLY_MAGIC, out.readLong());
        int option = out.readInt();
        int type = out.readInt();
        int length = out.readInt();
        byte[] data = new byte[length];
        out.readBytes(data);
        return new RawNbdClient.OptionReply(option, type, data);
    }

    List<RawNbdClient.OptionReply> readFinalReplies() {
        List<RawNbdClient.OptionReply> replies = new ArrayList<>();
        while (true) {
            RawNbdClient.OptionReply r = readReply();
            replies.add(r);
            if (r.type() == OptionDescriptor.REP_ACK || r.isError()) {
                return replies;
            }
        }
    }

    List<RawNbdClient.OptionReply> option(int option, byte[] data) {
        sendOption(option, data);
        return readFinalReplies();
    }

    RawNbdClient.OptionReply optionExpectingOne(int option, byte[] data) {
        List<RawNbdClient.OptionReply> replies = option(option, data);
        assertEquals(1, replies.size(), () -> "replies " + replies);
        return replies.get(0);
    }

    RawNbdClient.ExportInfo go(String name, int... infos) {
        List<RawNbdClient.OptionReply> replies = option(OptionDescriptor.OPT_GO, RawNbdClient.infoData(name, infos));
        assertEquals(OptionDescriptor.REP_ACK, replies.get(replies.size() - 1).type(), () -> replies.toString());
        return RawNbdClient.parseInfo(replies);
    }

    void request(int flags, int type, long cookie, long offset, long length) {
        send(header(flags, type, cookie, offset, length));
    }

    static ByteBuf header(int flags, int type, long cookie, long offset, long length) {
        ByteBuf b = Unpooled.buffer(RequestDescriptor.HEADER_LENGTH);
        b.writeInt(RequestDescriptor.MAGIC)
                .writeShort(flags)
                .writeShort(type)
                .writeLong(cookie)
                .writeLong(offset)
                .writeInt((int) length);
        return b;
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    boolean isOpen() {
        channel.runPendingTasks();
        return channel.isOpen();
    }

    @Override
    public void close() {
        output();
        pending.release();
        channel.finishAndReleaseAll();
    }
}
