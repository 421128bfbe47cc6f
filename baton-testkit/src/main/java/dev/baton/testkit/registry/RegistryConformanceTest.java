package dev.baton.testkit.registry;

import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Timeout;

/**
 * The registry conformance suite: what every {@link dev.baton.spi.Registry} must do, so that nodes behave the
 * same whichever registry they join through. The master passes it ({@code MasterRegistryConformanceTest} in
 * this module's tests); another registry passes it by subclassing it in its own tests with a fixture:
 *
 * <pre>{@code
 * class ZooKeeperRegistryConformanceTest extends RegistryConformanceTest {
 *     @Override
 *     protected RegistryUnderTest startRegistry() {
 *         return new ZooKeeperUnderTest();     // a test server, and the registry's factory on it
 *     }
 * }
 * }</pre>
 *
 * Each area is a {@link Nested} class (run as part of the subclass); each test starts a fresh registry with
 * {@link #startRegistry()}, joins its nodes through {@link RegistryUnderTest#factory()}, and closes all of them
 * and the registry afterwards, then checks that no Baton thread is left. Tests work at the
 * {@link dev.baton.spi.Registry} level (a registry from the factory, {@code join} with a listener that records
 * and checks what it is told) and at the {@link dev.baton.Node} level ({@code NodeOptions.registry(factory)})
 * where that is the natural way (calls, coordination). Every test has a timeout, and waits on conditions with
 * deadlines.
 *
 * <h2>What differs per registry: the fixture's hooks</h2>
 * <ul>
 *   <li>{@link RegistryUnderTest#factory()}: how a node reaches the registry;</li>
 *   <li>{@link RegistryUnderTest#stop()} and {@link RegistryUnderTest#start()}: the registry goes away and comes
 *       back on the same address (the master: close it and start a new one there; ZooKeeper: restart the server);
 *       what state survives is the registry's business and is not pinned (a restarted master forgets its
 *       coordination state; ZooKeeper keeps it);</li>
 *   <li>{@link RegistryUnderTest#cutOff} and {@link RegistryUnderTest#sessionExpiry()}: a node stops renewing
 *       its session (the master: a lease that lapses), and the bound within which the registry must notice.</li>
 * </ul>
 *
 * <h2>What the suite pins</h2>
 * Joining and ranks ({@link Joining}):
 * <ul>
 *   <li>join delivers the first snapshot to the listener before it returns; the snapshot contains the node as
 *       join returns it (its rank, and the node id, address and name it gave);</li>
 *   <li>ranks count 0, 1, 2, ... in join order; nodes joining at once get distinct ranks 0..N-1; a node keeps
 *       its rank while others come and go, and a new node never gets the rank of one that left;</li>
 *   <li>every node is told every later change once, in version order with no duplicate (each event's version
 *       larger than the view's; counting restarts at a new snapshot), including its own servers; two
 *       nodes told of the same version were told the same change; every event fits the view (no node joins
 *       twice, nothing is removed that was not there, no server on a non-member);</li>
 *   <li>a node that leaves ({@code close}, idempotent) is removed everywhere: one ServerRemoved per server it
 *       hosted, then NodeLeft, and nothing else;</li>
 *   <li>joining while the registry is away fails with UNAVAILABLE within the join timeout;</li>
 *   <li>nodes joined with {@code NodeOptions.registry(factory)} see each other at their addresses and call each
 *       other's servers; a node that closes disappears from the others' views with its servers.</li>
 * </ul>
 * Servers ({@link Servers}):
 * <ul>
 *   <li>ids the registry chooses (-1) count 0, 1, 2, ... per service, are unique when many nodes register at
 *       once, and are never chosen again once used; a requested id is honoured when free (a freed one too) and
 *       ALREADY_EXISTS when taken, by this node or another (also through {@code Server.Builder.start});</li>
 *   <li>a server carries its service, its service id and the rank of its node; a service has one id (1 or more,
 *       distinct per service) and every node sees the same ids;</li>
 *   <li>deregistering removes the server from every view (one ServerRemoved);</li>
 *   <li>INVALID_ARGUMENT for an empty service name; NO_SUCH_SERVER for removing a server this node does not
 *       host (another node's, or one already removed); a refused call changes nothing.</li>
 * </ul>
 * Sessions ({@link Sessions}; hooks {@code cutOff}, {@code sessionExpiry}):
 * <ul>
 *   <li>a node that stops renewing is removed everywhere within {@code sessionExpiry}: its servers, then the
 *       node; the others stay;</li>
 *   <li>idle nodes keep their sessions (silent for longer than {@code sessionExpiry}, nobody is told of
 *       any change);</li>
 *   <li>once it reaches the registry again, the node joins again with its old rank and servers (service and
 *       server ids); {@code onRejoined}, if called, says so;</li>
 *   <li>its locks pass to the next waiter within {@code sessionExpiry}, with a larger fencing token; the old
 *       holder's hold is local and stays until it unlocks, but its {@code fencingToken} throws UNAVAILABLE
 *       within twice {@code sessionExpiry} (it is never left to believe silently); its barrier arrival is withdrawn; its waiting lock and
 *       barrier calls fail with UNAVAILABLE, and a withdrawn lock wait is never granted.</li>
 * </ul>
 * The registry goes away and comes back ({@link Restarts}; hooks {@code stop}, {@code start}):
 * <ul>
 *   <li>nodes keep calling each other's servers throughout; a client made meanwhile sees the last membership;</li>
 *   <li>nodes rejoin with their old ranks, node ids and addresses, and their servers with their old service and
 *       server ids; the registry's view (a newcomer's snapshot) and every node's view converge on that;
 *       listeners keep the event contract above and their views converge;</li>
 *   <li>a service first registered after the registry came back never takes the id of a service whose node is
 *       not back yet (requests carry only ids: each must still reach a server of its own service);</li>
 *   <li>while it is away, registering and removing servers and every coordination call fail with UNAVAILABLE
 *       (within the node's join timeout), and a waiting barrier call fails with UNAVAILABLE; all work again
 *       once it is back;</li>
 *   <li>watches registered before report changes made after the nodes are back.</li>
 * </ul>
 * Observers ({@link Observers}; tools such as {@code bin/baton accumulators} and {@code status}):
 * <ul>
 *   <li>{@code observe} delivers a snapshot of the others before it returns, then every change, under the same
 *       event contract as a member;</li>
 *   <li>an observer takes no rank, is in no view and causes no event: the next node to join takes the rank it
 *       would have had;</li>
 *   <li>an observer node ({@code Node.observe}) calls servers and uses coordination;</li>
 *   <li>an observer keeps following after the registry went away and came back.</li>
 * </ul>
 * Barriers ({@link Barriers}):
 * <ul>
 *   <li>a barrier returns on all parties only once all have arrived, and is reusable round after round;</li>
 *   <li>each call counts once (threads of one node are separate parties);</li>
 *   <li>a wait that times out throws DEADLINE_EXCEEDED (no earlier than the timeout, at most
 *       2.5 s later) and leaves the round, which forgets its parties once empty;
 *       a zero timeout returns only if the call completes the round;</li>
 *   <li>the first arrival fixes the round's parties: other parties are INVALID_ARGUMENT (and do not count), as are
 *       parties below 1 and names over 4,096 chars;</li>
 *   <li>the arrival of a node that closes is withdrawn, and its waiting call fails with UNAVAILABLE.</li>
 * </ul>
 * Locks ({@link Locks}):
 * <ul>
 *   <li>mutual exclusion across nodes and threads, reentrant holds, one lock object per name per node;</li>
 *   <li>tryLock fails while the lock is held by another node or thread, and succeeds once unlock returned;</li>
 *   <li>every grant has a fencing token larger than every earlier grant's, of any lock; a reentrant hold keeps
 *       its token; fencingToken and unlock without a hold throw IllegalMonitorStateException;</li>
 *   <li>the lock of a node that closes goes to the node waiting for it;</li>
 *   <li>a lock wait that times out throws DEADLINE_EXCEEDED and is never granted later; waits that time out
 *       while the lock changes hands leak nothing;</li>
 *   <li>names over 4,096 chars are INVALID_ARGUMENT.</li>
 * </ul>
 * Ids, key/values and watches ({@link KeyValues}):
 * <ul>
 *   <li>ids count 0, 1, 2, ... per key across nodes, unique and dense under concurrent callers;</li>
 *   <li>put, get and delete (whether the key was set); values copied in and out; an empty value is a value;</li>
 *   <li>a watch sees every change under its prefix (the empty prefix: every key) once, in order, deletions
 *       as an empty value, on the node's event thread (the executor given to
 *       {@link dev.baton.spi.Registry#coordination}); deleting a missing key is no change; changes made before
 *       the watch are not reported; the writer's own node is told too; a watcher that throws keeps watching;
 *       a closed watch is never called again;</li>
 *   <li>a value of 1 MiB is accepted, a larger one is RESOURCE_EXHAUSTED; keys and prefixes over 4,096 chars
 *       are INVALID_ARGUMENT;</li>
 *   <li>coordination of a closed node or registry fails with CLOSED.</li>
 * </ul>
 *
 * <p>Not pinned (registry-specific): the coordination state after a restart, how a session is renewed, and how
 * fast a registry answers while it is away (only within the join timeout).
 */
@Timeout(60)
public abstract class RegistryConformanceTest {

    /**
     * Starts a fresh registry for one test (the suite closes it after the test). Each test must see a registry
     * with no nodes and no state; expensive parts may be shared as long as that holds.
     */
    protected abstract RegistryUnderTest startRegistry();

    @Nested
    class Joining extends MembershipConformance {
        Joining() {
            super(RegistryConformanceTest.this::startRegistry);
        }
    }

    @Nested
    class Servers extends ServerConformance {
        Servers() {
            super(RegistryConformanceTest.this::startRegistry);
        }
    }

    @Nested
    class Sessions extends SessionConformance {
        Sessions() {
            super(RegistryConformanceTest.this::startRegistry);
        }
    }

    @Nested
    class Restarts extends RestartConformance {
        Restarts() {
            super(RegistryConformanceTest.this::startRegistry);
        }
    }

    @Nested
    class Observers extends ObserverConformance {
        Observers() {
            super(RegistryConformanceTest.this::startRegistry);
        }
    }

    @Nested
    class Barriers extends BarrierConformance {
        Barriers() {
            super(RegistryConformanceTest.this::startRegistry);
        }
    }

    @Nested
    class Locks extends LockConformance {
        Locks() {
            super(RegistryConformanceTest.this::startRegistry);
        }
    }

    @Nested
    class KeyValues extends KeyValueConformance {
        KeyValues() {
            super(RegistryConformanceTest.this::startRegistry);
        }
    }
}
