package dev.baton.tracker.internal;

import com.google.gson.JsonObject;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.util.ArrayDeque;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Set;

/**
 * One peer's connection to the tracker: its socket and I/O state (for {@link TrackerLoop}) and what it holds in
 * the tracker (for {@link TrackerConductor}). Not thread-safe: everything here is touched by the loop thread only.
 */
final class TvmConnection {

    final SocketChannel channel;
    final InetSocketAddress peer;
    /** The peer's IP as text: the address of its servers when it sends no {@code custom_addr}. */
    final String peerHost;
    final long openedNs;
    final FrameDecoder decoder;
    SelectionKey selectionKey;

    /** Frames accepted for writing that the socket has not taken yet. */
    final ArrayDeque<ByteBuffer> out = new ArrayDeque<>();
    long outBytes;
    /** When the socket last refused bytes while some were waiting; 0 when nothing waits. */
    long writeBlockedSinceNs;
    /** Closed, or failed and about to be closed: nothing more is sent. */
    boolean closed;
    /** Socket closed and everything it held released. */
    boolean released;
    /** The decoder's held bytes as last counted in the loop's budget. */
    int countedHeldBytes;

    /** Its UPDATE_INFO dictionaries merged, or null if it sent none. */
    JsonObject info;
    /** The length of {@link #info} as JSON text. */
    int infoChars;
    /** Matchkey to its free entry: the servers it PUT that were not handed out yet, in PUT order. */
    final LinkedHashMap<String, Entry> free = new LinkedHashMap<>();
    /** The keys it PUT under. */
    final Set<String> putKeys = new HashSet<>();
    /** Its REQUESTs still waiting. */
    final Set<Waiter> waiters = new HashSet<>();

    TvmConnection(SocketChannel channel, InetSocketAddress peer, long openedNs, int maxFrameBytes) {
        this.channel = channel;
        this.peer = peer;
        this.peerHost = peer.getAddress().getHostAddress();
        this.openedNs = openedNs;
        this.decoder = new FrameDecoder(maxFrameBytes);
    }

    @Override
    public String toString() {
        return "tracker connection from " + peerHost + ":" + peer.getPort();
    }
}
