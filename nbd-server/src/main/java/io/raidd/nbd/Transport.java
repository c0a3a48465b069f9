package io.raidd.nbd;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerDomainSocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.util.concurrent.TimeUnit;

/**
 * The event loops and channel types: epoll on Linux (TCP and unix sockets), NIO elsewhere or when
 * the native library cannot load (NIO also serves unix sockets on JDK 16+).
 */
final class Transport implements AutoCloseable {
    private final boolean epoll;
    final EventLoopGroup acceptGroup;
    final EventLoopGroup ioGroup;

    private Transport(boolean epoll, int eventLoopThreads) {
        this.epoll = epoll;
        this.acceptGroup = new MultiThreadIoEventLoopGroup(
                1,
                new DefaultThreadFactory("nbd-accept", true),
                epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
        this.ioGroup = new MultiThreadIoEventLoopGroup(
                eventLoopThreads,
                new DefaultThreadFactory("nbd-loop", true),
                epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
    }

    static Transport create(boolean preferNative, int eventLoopThreads) {
        return new Transport(preferNative && Epoll.isAvailable(), eventLoopThreads);
    }

    boolean isNative() {
        return epoll;
    }

    Class<? extends ServerChannel> serverChannelFor(SocketAddress address) {
        if (address instanceof UnixDomainSocketAddress) {
            return epoll ? EpollServerDomainSocketChannel.class : NioServerDomainSocketChannel.class;
        }
        return epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
    }

    /** The address in the form the chosen channel type binds to. */
    SocketAddress bindAddressFor(SocketAddress address) {
        if (epoll && address instanceof UnixDomainSocketAddress unix) {
            return new DomainSocketAddress(unix.getPath().toString());
        }
        return address;
    }

    @Override
    public void close() {
        acceptGroup.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
        ioGroup.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
    }
}
