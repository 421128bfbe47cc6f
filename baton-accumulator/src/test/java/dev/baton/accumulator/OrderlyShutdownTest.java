package dev.baton.accumulator;

import dev.baton.Master;
import dev.baton.Node;
import dev.baton.NodeOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** An orderly shutdown (accumulators closed in order, then nodes, then the master) logs nothing above INFO. */
@Timeout(60)
class OrderlyShutdownTest {

    @Test
    void closingTheServersHostFirstLogsNoWarning() throws Exception {
        closeInOrder(true);
    }

    @Test
    void closingTheOtherNodeFirstLogsNoWarning() throws Exception {
        closeInOrder(false);
    }

    private static void closeInOrder(boolean hostFirst) throws Exception {
        List<String> warnings = new CopyOnWriteArrayList<>();
        Handler capture = new Handler() {
            @Override
            public void publish(LogRecord r) {
                if (r.getLevel().intValue() >= Level.WARNING.intValue()) {
                    warnings.add(r.getLevel() + " " + r.getLoggerName() + ": " + r.getMessage()
                            + (r.getParameters() == null ? "" : " " + List.of(r.getParameters())));
                }
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        Logger baton = Logger.getLogger("dev.baton");
        baton.addHandler(capture);
        try {
            Master master = Master.start(0);
            Node a = Node.join(NodeOptions.builder().master(master.address()).name("a").build());
            Node b = Node.join(NodeOptions.builder().master(master.address()).name("b").build());
            AccumulatorOptions options = AccumulatorOptions.builder().electionDelay(Duration.ofMillis(10)).build();
            Accumulators accA = Accumulators.attach(a, options);
            Accumulators accB = Accumulators.attach(b, options);
            accA.longSum("steps").write(1);
            accB.longSum("steps").write(2);
            accA.awaitFlushed(Duration.ofSeconds(20));
            accB.awaitFlushed(Duration.ofSeconds(20));
            assertEquals(3L, ((AccumulatorValue.LongValue) accA.read("steps").orElseThrow()).value());

            // a joined first and hosts the server (the lowest rank).
            if (hostFirst) {
                accA.close();
                accB.close();
                a.close();
                b.close();
            } else {
                accB.close();
                accA.close();
                b.close();
                a.close();
            }
            master.close();
        } finally {
            baton.removeHandler(capture);
        }
        assertEquals(List.of(), warnings, "warnings during an orderly shutdown");
    }
}
