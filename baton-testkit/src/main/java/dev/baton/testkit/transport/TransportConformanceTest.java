package dev.baton.testkit.transport;

import dev.baton.spi.TransportFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The contract of Baton's transport SPI ({@code dev.baton.spi}), pinned at the level of {@code Transport} and
 * {@code TransportConnection}: two transports of the kind under test talk, each with a handler that records what it
 * sees. Every transport runs it; a transport module does so with one subclass in its tests that names its factory:
 *
 * <pre>{@code
 * class ShmTransportConformanceTest extends TransportConformanceTest {
 *     @Override
 *     protected TransportFactory transportFactory() {
 *         return ShmTransport.factory();
 *     }
 * }
 * }</pre>
 *
 * <p>What it pins: the three {@code offer} results and which frames the queue limits may refuse; exactly one of
 * {@code onWritten}/{@code onDropped} per frame taken, and "dropped" meaning the peer never receives it; close and
 * drop ordering and one {@code onClose} per connection on both ends; the handshake identity, {@code onOpen} before
 * any frame; the peer's maximum message size; keepalive and handshake timeouts; {@code poll()} from a caller's
 * thread; the cluster secret proved both ways, or the peer refused; GOAWAY, large and zero-length frames; many connections at once; {@code awaitCapacity}; listen, connect
 * and close of the transport. After every test it closes every transport it made and checks that their threads
 * are gone (a transport names its threads after {@code TransportContext.name()}), that no handler saw a breach of
 * the contract, and that every frame ended as the contract says.
 *
 * <p>To stall a peer, a test sends a frame whose handler blocks the peer's only I/O thread until the test ends:
 * the peer then completes no new handshake, so frames offered to it stay queued. Transports must therefore complete
 * their side of a handshake on their I/O threads, as every event-loop transport does.
 *
 * <p>Each test runs the check of the same name in the class of its topic ({@link FrameChecks},
 * {@link BackPressureChecks}, {@link CloseChecks}, {@link LimitChecks}, {@link ConnectionChecks},
 * {@link MetadataChecks}, {@link SecretChecks}): this class is
 * the list of what the contract says, those say how it is checked.
 */
@Timeout(60)
public abstract class TransportConformanceTest {

    /**
     * The transport under test. Called once per test; the transports of the test are all made by the factory
     * returned, so they must reach each other's listening addresses.
     */
    protected abstract TransportFactory transportFactory();

    private ConformanceFixture fx;
    private FrameChecks frames;
    private BackPressureChecks backPressure;
    private CloseChecks closing;
    private LimitChecks limits;
    private ConnectionChecks connections;
    private MetadataChecks metadata;
    private SecretChecks secrets;

    @BeforeEach
    protected final void createFixture() {
        fx = new ConformanceFixture(transportFactory());
        frames = new FrameChecks(fx);
        backPressure = new BackPressureChecks(fx);
        closing = new CloseChecks(fx);
        limits = new LimitChecks(fx);
        connections = new ConnectionChecks(fx);
        metadata = new MetadataChecks(fx);
        secrets = new SecretChecks(fx);
    }

    /** Closes every transport of the test, then checks threads, the handler contract and every frame's fate. */
    @AfterEach
    protected final void closeAndCheckTheContract() {
        fx.close();
    }

    // ================================================================== frames

    @Test
    public void aFrameArrivesWithEveryHeaderFieldAndItsPayloadIntact() throws Exception {
        frames.aFrameArrivesWithEveryHeaderFieldAndItsPayloadIntact();
    }

    @Test
    public void theHandshakeTellsEachSideThePeersIdentityAndOnOpenComesBeforeAnyFrame() {
        frames.theHandshakeTellsEachSideThePeersIdentityAndOnOpenComesBeforeAnyFrame();
    }

    @Test
    public void goawayIsDeliveredLikeAnyFrameAndTheConnectionStaysOpen() {
        frames.goawayIsDeliveredLikeAnyFrameAndTheConnectionStaysOpen();
    }

    @Test
    public void largeAndZeroLengthFramesArriveIntactAndInOrder() throws Exception {
        frames.largeAndZeroLengthFramesArriveIntactAndInOrder();
    }

    @Test
    public void framesOfferedFromManyThreadsArriveIntactAndInOrderPerThread() throws Exception {
        frames.framesOfferedFromManyThreadsArriveIntactAndInOrderPerThread();
    }

    @Test
    public void steadyTrafficAllocatesNoBufferPerFrame() {
        frames.steadyTrafficAllocatesNoBufferPerFrame();
    }

    // ================================================================== back-pressure

    @Test
    public void requestsAreBackPressuredAtMaxQueuedFramesAndOtherFramesNeverAre() throws Exception {
        backPressure.requestsAreBackPressuredAtMaxQueuedFramesAndOtherFramesNeverAre();
    }

    @Test
    public void requestsAreBackPressuredAtMaxQueuedBytesButALoneLargeRequestIsTaken() throws Exception {
        backPressure.requestsAreBackPressuredAtMaxQueuedBytesButALoneLargeRequestIsTaken();
    }

    @Test
    public void offerReturnsClosedAfterCloseAndTheCallerKeepsTheFrame() {
        backPressure.offerReturnsClosedAfterCloseAndTheCallerKeepsTheFrame();
    }

    @Test
    public void awaitCapacityReturnsAtOnceWithRoomWaitsForRoomAndGivesUpAtTheDeadline() throws Exception {
        backPressure.awaitCapacityReturnsAtOnceWithRoomWaitsForRoomAndGivesUpAtTheDeadline();
    }

    @Test
    public void awaitCapacityReturnsFalseWhenTheConnectionCloses() throws Exception {
        backPressure.awaitCapacityReturnsFalseWhenTheConnectionCloses();
    }

    // ================================================================== closing

    @Test
    public void closingAConnectionDropsWhatWasNotWrittenAndThePeerNeverReceivesIt() throws Exception {
        closing.closingAConnectionDropsWhatWasNotWrittenAndThePeerNeverReceivesIt();
    }

    @Test
    public void everyFrameIsWrittenOrDroppedExactlyOnceWhenTheConnectionClosesMidStream() throws Exception {
        closing.everyFrameIsWrittenOrDroppedExactlyOnceWhenTheConnectionClosesMidStream();
    }

    @Test
    public void closingOneEndClosesTheOtherAndEachSeesOnCloseOnce() {
        closing.closingOneEndClosesTheOtherAndEachSeesOnCloseOnce();
    }

    @Test
    public void closingTheTransportClosesEveryConnectionAndStopsItsThreads() {
        closing.closingTheTransportClosesEveryConnectionAndStopsItsThreads();
    }

    @Test
    public void aTransportClosedWhileItAcceptsLeavesNoConnectionBehind() throws Exception {
        closing.aTransportClosedWhileItAcceptsLeavesNoConnectionBehind();
    }

    // ================================================================== the peer's limits and liveness

    @Test
    public void metadataArrivesInFrontOfEveryPayloadSizeAndAFrameWithoutHasNone() throws Exception {
        metadata.metadataArrivesInFrontOfEveryPayloadSizeAndAFrameWithoutHasNone();
    }

    @Test
    public void aPeerOfVersionTwoNegotiatesDownAndIsNeverSentMetadata() throws Exception {
        metadata.aPeerOfVersionTwoNegotiatesDownAndIsNeverSentMetadata();
    }

    @Test
    public void metadataCountsAgainstThePeersMaxMessageSize() throws Exception {
        metadata.metadataCountsAgainstThePeersMaxMessageSize();
    }

    @Test
    public void aFrameAboveThePeersMaxMessageSizeFailsAloneWithMessageTooLarge() throws Exception {
        limits.aFrameAboveThePeersMaxMessageSizeFailsAloneWithMessageTooLarge();
    }

    @Test
    public void aFrameAboveThePeersMaxMessageSizeOfferedBeforeTheHandshakeFailsAloneToo() throws Exception {
        limits.aFrameAboveThePeersMaxMessageSizeOfferedBeforeTheHandshakeFailsAloneToo();
    }

    @Test
    public void aSilentConnectionIsClosedAtTheKeepaliveTimeout() {
        limits.aSilentConnectionIsClosedAtTheKeepaliveTimeout();
    }

    @Test
    public void pingsKeepAnIdleConnectionOpenAndNeverReachTheHandler() {
        limits.pingsKeepAnIdleConnectionOpenAndNeverReachTheHandler();
    }

    @Test
    public void keepaliveSetsTheLivenessOfOneConnection() {
        limits.keepaliveSetsTheLivenessOfOneConnection();
    }

    @Test
    public void aConnectionWhoseHandshakeNeverCompletesClosesAtTheHandshakeTimeout() throws Exception {
        limits.aConnectionWhoseHandshakeNeverCompletesClosesAtTheHandshakeTimeout();
    }

    // ================================================================== the cluster secret

    @Test
    public void endsThatShareTheSecretOpenAndEachSeesTheOtherProvedIt() throws Exception {
        secrets.endsThatShareTheSecretOpenAndEachSeesTheOtherProvedIt();
    }

    @Test
    public void anEndWithoutTheSecretOrWithAnotherIsRefusedBeforeItOpens() throws Exception {
        secrets.anEndWithoutTheSecretOrWithAnotherIsRefusedBeforeItOpens();
    }

    // ================================================================== connections

    @Test
    public void pollDeliversFramesOnTheCallersThreadWhileTheLoopIsBusy() throws Exception {
        connections.pollDeliversFramesOnTheCallersThreadWhileTheLoopIsBusy();
    }

    @Test
    public void fiftyConnectionsAtOnceEachGetTheirOwnAnswers() {
        connections.fiftyConnectionsAtOnceEachGetTheirOwnAnswers();
    }

    @Test
    public void aConnectToAnAddressNobodyListensOnClosesWithUnavailable() throws Exception {
        connections.aConnectToAnAddressNobodyListensOnClosesWithUnavailable();
    }

    @Test
    public void listenOnPortZeroPicksAFreePortAndABoundPortCannotBeTakenAgain() throws Exception {
        connections.listenOnPortZeroPicksAFreePortAndABoundPortCannotBeTakenAgain();
    }
}
