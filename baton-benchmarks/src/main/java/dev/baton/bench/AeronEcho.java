package dev.baton.bench;

import io.aeron.Aeron;
import io.aeron.ExclusivePublication;
import io.aeron.FragmentAssembler;
import io.aeron.Publication;
import io.aeron.Subscription;
import io.aeron.driver.MediaDriver;
import io.aeron.driver.ThreadingMode;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.AgentInvoker;
import org.agrona.concurrent.IdleStrategy;

/**
 * The Aeron IPC pong, in the server JVM: a media driver in INVOKER mode and an Aeron client whose conductor is
 * invoked too, both driven by the one pong thread, so no third thread competes for the two cores. It polls one
 * request subscription per server and echoes each message on its lane's response publication.
 */
final class AeronEcho implements AutoCloseable {

    private final MediaDriver driver;
    private final Aeron aeron;
    private final AgentInvoker driverInvoker;
    private final AgentInvoker clientInvoker;
    private final Subscription[] requests;
    private final ExclusivePublication[] responses = new ExclusivePublication[AeronIpc.MAX_LANES];
    private final IdleStrategy idle;
    private final Thread thread;
    private volatile boolean running = true;

    private AeronEcho(int servers, boolean busyPoll) {
        long harness = ProcessHandle.current().parent().orElseThrow().pid();
        String dir = AeronIpc.directory(harness).toString();
        driver = MediaDriver.launch(new MediaDriver.Context().aeronDirectoryName(dir)
                .threadingMode(ThreadingMode.INVOKER).dirDeleteOnStart(true).dirDeleteOnShutdown(true)
                .ipcTermBufferLength(AeronIpc.TERM_LENGTH).ipcMtuLength(AeronIpc.MTU_LENGTH).termBufferSparseFile(true));
        driverInvoker = driver.sharedAgentInvoker();
        if (!driverInvoker.isStarted()) {
            driverInvoker.start();
        }
        aeron = Aeron.connect(new Aeron.Context().aeronDirectoryName(dir).useConductorAgentInvoker(true)
                .driverAgentInvoker(driverInvoker));
        clientInvoker = aeron.conductorAgentInvoker();
        requests = new Subscription[servers];
        for (int i = 0; i < servers; i++) {
            requests[i] = aeron.addSubscription(AeronIpc.CHANNEL, AeronIpc.REQUEST_STREAM + i);
        }
        for (int lane = 0; lane < AeronIpc.MAX_LANES; lane++) {
            responses[lane] = aeron.addExclusivePublication(AeronIpc.CHANNEL, AeronIpc.RESPONSE_STREAM + lane);
        }
        idle = AeronIpc.idleStrategy(busyPoll);
        thread = Thread.ofPlatform().name("aeron-pong").daemon(true).unstarted(this::run);
    }

    static AeronEcho start(int servers, boolean busyPoll) {
        AeronEcho echo = new AeronEcho(servers, busyPoll);
        echo.thread.start();
        return echo;
    }

    private void run() {
        FragmentAssembler assembler = new FragmentAssembler(this::echo);
        while (running) {
            int work = driverInvoker.invoke() + clientInvoker.invoke();
            for (Subscription s : requests) {
                work += s.poll(assembler, 16);
            }
            idle.idle(work);
        }
    }

    private void echo(DirectBuffer buffer, int offset, int length, io.aeron.logbuffer.Header header) {
        ExclusivePublication p = responses[buffer.getInt(offset)];
        while (running) {
            long r = p.offer(buffer, offset, length);
            if (r > 0) {
                return;
            }
            if (r == Publication.CLOSED || r == Publication.MAX_POSITION_EXCEEDED) {
                throw new IllegalStateException("response publication failed: " + r);
            }
            driverInvoker.invoke();         // back-pressured or not yet connected: let the driver move limits
            clientInvoker.invoke();
            Thread.onSpinWait();
        }
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        thread.join(5_000);
        aeron.close();
        driver.close();
    }
}
