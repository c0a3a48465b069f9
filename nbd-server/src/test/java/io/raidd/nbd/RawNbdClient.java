package io.raidd.nbd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

/**
 * A deliberately low-level NBD client for tests: it sends exactly the bytes a test asks for, so
 * tests can speak the protocol correctly, or break it in precise ways, and check every reply.
 */
final class RawNbdClient implements AutoCloseable {
    record SimpleReply(long cookie, int error, byte[] data) {}

    record Chunk(int flags, int type, long cookie, byte[] payload) {
        boolean done() {
            return (flags & StructuredReplyDescriptor.FLAG_DONE) != 0;
        }

        int errno() {
            return java.nio.ByteBuffer.wrap(payload).getInt();
        }
    }

    /** Result of reassembling a structured READ reply. */
    record ReadResult(byte[] data, int errno, int dataChunks, int holeChunks) {}

    static final int READ_TIMEOUT_MS = 30_000;

    private final InetSocketAddress address;
    private Socket socket;
    private DataInputStream in;
    private DataOutputStream out;

    private RawNbdClient(InetSocketAddress address, Socket socket) throws IOException {
        this.address = address;
        use(socket);
    }

    static RawNbdClient connect(InetSocketAddress address) throws IOException {
        Socket s = new Socket();
        s.setTcpNoDelay(true);
        s.connect(address, READ_TIMEOUT_MS);
        return new RawNbdClient(address, s);
    }

    private void use(Socket s) throws IOException {
        socket = s;
        socket.setSoTimeout(READ_TIMEOUT_MS);
        in = new DataInputStream(new BufferedInputStream(s.getInputStream(), 1 << 16));
        out = new DataOutputStream(new BufferedOutputStream(s.getOutputStream(), 1 << 16));
    }

    // ---------------------------------------------------------------- handshake

    /** Reads the greeting and returns the handshake flags. */
    int readGreeting() throws IOException {
        assertEquals(HandshakeDescriptor.NBDMAGIC, in.readLong(), "NBDMAGIC");
        assertEquals(HandshakeDescriptor.IHAVEOPT, in.readLong(), "IHAVEOPT");
        return in.readUnsignedShort();
    }

    void sendClientFlags(int flags) throws IOException {
        out.writeInt(flags);
        out.flush();
    }

    /** Greeting plus client flags C_FIXED_NEWSTYLE | C_NO_ZEROES. */
    RawNbdClient handshake() throws IOException {
        int flags = readGreeting();
        assertEquals(
                HandshakeDescriptor.FLAG_FIXED_NEWSTYLE | HandshakeDescriptor.FLAG_NO_ZEROES, flags, "handshake flags");
        sendClientFlags(HandshakeDescriptor.CLIENT_FLAG_FIXED_NEWSTYLE | HandshakeDescriptor.CLIENT_FLAG_NO_ZEROES);
        return this;
    }

    void sendOption(int option, byte[] data) throws IOException {
        sendOptionHeader(option, data.length);
        out.write(data);
        out.flush();
    }

    void sendOptionHeader(int option, long length) throws IOException {
        out.writeLong(HandshakeDescriptor.IHAVEOPT);
        out.writeInt(option);
        out.writeInt((int) length);
        out.flush();
    }

    void sendRaw(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
    }

    void sendZeroes(long count) throws IOException {
        byte[] zeroes = new byte[1 << 16];
        long left = count;
        while (left > 0) {
            int n = (int) Math.min(zeroes.length, left);
            out.write(zeroes, 0, n);
            left -= n;
        }
        out.flush();
    }

    record OptionReply(int option, int type, byte[] data) {
        boolean isError() {
            return OptionDescriptor.isError(type);
        }

        String text() {
            return new String(data, StandardCharsets.UTF_8);
        }
    }

    OptionReply readOptionReply() throws IOException {
        assertEquals(OptionDescriptor.REPLY_MAGIC, in.readLong(), "option reply magic");
        int option = in.readInt();
        int type = in.readInt();
        int length = in.readInt();
        assertTrue(length >= 0 && length < 1 << 20, "reply length " + length);
        byte[] data = new byte[length];
        in.readFully(data);
        return new OptionReply(option, type, data);
    }

    /** Sends an option and collects its replies up to and including the final one. */
    List<OptionReply> option(int option, byte[] data) throws IOException {
        sendOption(option, data);
        return readFinalReplies(option);
    }

    List<OptionReply> readFinalReplies(int option) throws IOException {
        List<OptionReply> replies = new ArrayList<>();
        while (true) {
            OptionReply r = readOptionReply();
            assertEquals(option, r.option(), "reply answers option");
            replies.add(r);
            if (r.type() == OptionDescriptor.REP_ACK || r.isError()) {
                return replies;
            }
        }
    }

    /** The single final reply of an option that has no intermediate replies. */
    OptionReply optionExpectingOne(int option, byte[] data) throws IOException {
        List<OptionReply> replies = option(option, data);
        assertEquals(1, replies.size(), "replies " + replies);
        return replies.get(0);
    }

    static byte[] infoData(String name, int... infos) {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DataOutputStream d = new DataOutputStream(bytes);
        try {
            d.writeInt(n.length);
            d.write(n);
            d.writeShort(infos.length);
            for (int info : infos) {
                d.writeShort(info);
            }
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        return bytes.toByteArray();
    }

    static byte[] metaContextData(String name, String... queries) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DataOutputStream d = new DataOutputStream(bytes);
        try {
            byte[] n = name.getBytes(StandardCharsets.UTF_8);
            d.writeInt(n.length);
            d.write(n);
            d.writeInt(queries.length);
            for (String q : queries) {
                byte[] b = q.getBytes(StandardCharsets.UTF_8);
                d.writeInt(b.length);
                d.write(b);
            }
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        return bytes.toByteArray();
    }

    record ExportInfo(
            long sizeBytes,
            int flags,
            int minimumBlock,
            int preferredBlock,
            int maximumBlock,
            String name,
            String description) {
        boolean has(int flag) {
            return (flags & flag) != 0;
        }
    }

    static ExportInfo parseInfo(List<OptionReply> replies) {
        long size = -1;
        int flags = -1;
        int min = 0;
        int pref = 0;
        int max = 0;
        String name = null;
        String description = null;
        for (OptionReply r : replies) {
            if (r.type() != OptionDescriptor.REP_INFO) {
                continue;
            }
            java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(r.data());
            int type = b.getShort() & 0xffff;
            switch (type) {
                case OptionDescriptor.INFO_EXPORT -> {
                    assertEquals(12, r.data().length);
                    size = b.getLong();
                    flags = b.getShort() & 0xffff;
                }
                case OptionDescriptor.INFO_NAME ->
                    name = new String(r.data(), 2, r.data().length - 2, StandardCharsets.UTF_8);
                case OptionDescriptor.INFO_DESCRIPTION ->
                    description = new String(r.data(), 2, r.data().length - 2, StandardCharsets.UTF_8);
                case OptionDescriptor.INFO_BLOCK_SIZE -> {
                    assertEquals(14, r.data().length);
                    min = b.getInt();
                    pref = b.getInt();
                    max = b.getInt();
                }
                default -> fail("unexpected info type " + type);
            }
        }
        assertTrue(size >= 0, "INFO_EXPORT missing in " + replies);
        return new ExportInfo(size, flags, min, pref, max, name, description);
    }

    ExportInfo info(int option, String name, int... infos) throws IOException {
        List<OptionReply> replies = option(option, infoData(name, infos));
        OptionReply last = replies.get(replies.size() - 1);
        assertEquals(OptionDescriptor.REP_ACK, last.type(), () -> "reply " + last.type() + ": " + last.text());
        return parseInfo(replies);
    }

    ExportInfo go(String name, int... infos) throws IOException {
        return info(OptionDescriptor.OPT_GO, name, infos);
    }

    void structuredReplies() throws IOException {
        OptionReply r = optionExpectingOne(OptionDescriptor.OPT_STRUCTURED_REPLY, new byte[0]);
        assertEquals(OptionDescriptor.REP_ACK, r.type());
    }

    /** Returns the id of base:allocation, or 0 when the server selected nothing. */
    int setMetaContext(String export, String... queries) throws IOException {
        List<OptionReply> replies = option(OptionDescriptor.OPT_SET_META_CONTEXT, metaContextData(export, queries));
        assertEquals(OptionDescriptor.REP_ACK, replies.get(replies.size() - 1).type(), () -> replies.toString());
        int id = 0;
        for (OptionReply r : replies) {
            if (r.type() == OptionDescriptor.REP_META_CONTEXT) {
                java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(r.data());
                id = b.getInt();
                assertEquals(
                        OptionDescriptor.BASE_ALLOCATION,
                        new String(r.data(), 4, r.data().length - 4, StandardCharsets.UTF_8));
            }
        }
        return id;
    }

    /** NBD_OPT_EXPORT_NAME; returns the export size and checks the reply's padding. */
    long exportName(String name, boolean noZeroes) throws IOException {
        sendOption(OptionDescriptor.OPT_EXPORT_NAME, name.getBytes(StandardCharsets.UTF_8));
        long size = in.readLong();
        in.readUnsignedShort();
        if (!noZeroes) {
            byte[] zeroes = new byte[124];
            in.readFully(zeroes);
            assertArrayAllZero(zeroes);
        }
        return size;
    }

    void startTls(SSLContext context) throws IOException {
        OptionReply r = optionExpectingOne(OptionDescriptor.OPT_STARTTLS, new byte[0]);
        assertEquals(OptionDescriptor.REP_ACK, r.type(), () -> r.text());
        SSLSocket tls = (SSLSocket)
                context.getSocketFactory().createSocket(socket, address.getHostString(), address.getPort(), true);
        tls.setUseClientMode(true);
        tls.startHandshake();
        use(tls);
    }

    // ---------------------------------------------------------------- transmission

    void request(int flags, int type, long cookie, long offset, long length) throws IOException {
        writeRequestHeader(flags, type, cookie, offset, length);
        out.flush();
    }

    private void writeRequestHeader(int flags, int type, long cookie, long offset, long length) throws IOException {
        out.writeInt(RequestDescriptor.MAGIC);
        out.writeShort(flags);
        out.writeShort(type);
        out.writeLong(cookie);
        out.writeLong(offset);
        out.writeInt((int) length);
    }

    void write(int flags, long cookie, long offset, byte[] data) throws IOException {
        writeRequestHeader(flags, RequestDescriptor.CMD_WRITE, cookie, offset, data.length);
        out.write(data);
        out.flush();
    }

    private ReplyReader replies() {
        return new ReplyReader(in);
    }

    SimpleReply readSimpleReply(int dataLengthIfOk) throws IOException {
        return replies().readSimpleReply(dataLengthIfOk);
    }

    Object readMessage() throws IOException {
        return replies().readMessage();
    }

    Chunk readChunk() throws IOException {
        return replies().readChunk();
    }

    List<Chunk> readStructuredReply(long cookie) throws IOException {
        return replies().readStructuredReply(cookie);
    }

    static ReadResult assemble(List<Chunk> chunks, long offset, int length) {
        return ReplyReader.assemble(chunks, offset, length);
    }

    /** READ with simple replies; asserts success. */
    byte[] readSimple(long cookie, long offset, int length) throws IOException {
        request(0, RequestDescriptor.CMD_READ, cookie, offset, length);
        SimpleReply r = readSimpleReply(length);
        assertEquals(cookie, r.cookie());
        assertEquals(0, r.error(), "read error");
        return r.data();
    }

    /** READ with structured replies. */
    ReadResult readStructured(int flags, long cookie, long offset, int length) throws IOException {
        request(flags, RequestDescriptor.CMD_READ, cookie, offset, length);
        return assemble(readStructuredReply(cookie), offset, length);
    }

    /** Sends a payload-less command and returns the error of its simple reply. */
    int command(int flags, int type, long cookie, long offset, long length) throws IOException {
        request(flags, type, cookie, offset, length);
        SimpleReply r = readSimpleReply(0);
        assertEquals(cookie, r.cookie());
        return r.error();
    }

    /** Sends a payload-less command and returns the error from a simple reply or an error chunk. */
    int commandAnyReply(int flags, int type, long cookie, long offset, long length) throws IOException {
        request(flags, type, cookie, offset, length);
        return errorOfNextReply(cookie);
    }

    int writeAnyReply(int flags, long cookie, long offset, byte[] data) throws IOException {
        write(flags, cookie, offset, data);
        return errorOfNextReply(cookie);
    }

    private int errorOfNextReply(long cookie) throws IOException {
        return replies().errorOfNextReply(cookie);
    }

    void disconnect() throws IOException {
        request(0, RequestDescriptor.CMD_DISC, 0, 0, 0);
    }

    /** True when the server closed the connection (EOF or reset) before the read timeout. */
    boolean awaitServerClose() throws IOException {
        try {
            while (in.read() >= 0) {
                // drain
            }
            return true;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (EOFException | SocketException e) {
            return true;
        }
    }

    void shutdownOutput() throws IOException {
        socket.shutdownOutput();
    }

    void setReadTimeout(int ms) throws SocketException {
        socket.setSoTimeout(ms);
    }

    DataInputStream in() {
        return in;
    }

    static void assertArrayAllZero(byte[] bytes) {
        for (byte b : bytes) {
            if (b != 0) {
                fail("expected zeroes");
            }
        }
    }

    static void assertNotClosed(RawNbdClient client) {
        assertFalse(client.socket.isClosed());
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
