package dev.baton.systemtest;

import dev.baton.MembershipEvent;
import dev.baton.Node;
import dev.baton.NodeOptions;

import java.util.concurrent.atomic.LongAdder;

/**
 * Child process: a node that serves service {@value #SERVICE}, echoing method {@value #ECHO} inline.
 *
 * <p>Usage: {@code EchoServerMain <master host:port>}. Prints {@code READY rank=R} once its server is
 * registered, {@code NODES [ranks...]} after each node joins or leaves its membership view, and, when stdin
 * reaches end-of-file, {@code SERVED n} (the requests it handled), then closes the node (leaving the
 * membership) and exits 0. On SIGTERM it closes the node too.
 */
public final class EchoServerMain {

    static final String SERVICE = "echo";
    static final int ECHO = 0;

    private EchoServerMain() {
    }

    public static void main(String[] args) {
        if (args.length != 1) {
            System.err.println("usage: EchoServerMain <master host:port>");
            System.exit(2);
        }
        LongAdder served = new LongAdder();
        NodeOptions options = NodeOptions.builder().master(args[0]).name("echo-server").build();
        try (Node node = Node.join(options)) {
            Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().name("node-shutdown").unstarted(node::close));
            node.addMembershipListener((event, membership) -> {
                if (event instanceof MembershipEvent.NodeJoined || event instanceof MembershipEvent.NodeLeft) {
                    ChildSupport.println(ChildSupport.nodesLine(membership));
                }
            });
            node.newServer(SERVICE).inline(ECHO, call -> {
                served.increment();
                call.reply(call.request().buffer());
            }).start();
            ChildSupport.println("READY rank=" + node.rank());
            ChildSupport.awaitStdinEof();
            ChildSupport.println("SERVED " + served.sum());
        }
        System.exit(0);
    }
}
