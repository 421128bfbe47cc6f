package dev.baton.status;

import com.google.gson.JsonElement;
import dev.baton.Client;
import dev.baton.Master;
import dev.baton.Node;
import dev.baton.NodeOptions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The status page in a real headless Chromium: it loads, lists the nodes, draws its charts, and follows the
 * cluster live (a node that joins appears, a node that leaves disappears, within a few seconds, without a
 * reload), with no console errors. Leaves a screenshot in target/status-page.png.
 *
 * <p>Needs Debian's {@code chromium} and {@code chromium-driver}; {@code bin/test} (and so CI) installs them and
 * sets BATON_REQUIRE_BROWSER, which turns their absence into a failure instead of a skip.
 */
@Timeout(120)
class StatusPageBrowserTest {

    private static final Duration SOON = Duration.ofSeconds(10);

    @Test
    void thePageListsTheNodesAndFollowsJoinsAndLeavesLive() throws Exception {
        if (HeadlessChromium.driverBinary() == null) {
            String why = "chromedriver not found: install Debian's chromium and chromium-driver (bin/test does)";
            if (System.getenv("BATON_REQUIRE_BROWSER") != null) {
                throw new IllegalStateException(why);
            }
            Assumptions.abort(why);
        }
        AtomicBoolean stop = new AtomicBoolean();
        try (Master master = Master.start(0);
             Node server = Node.join(NodeOptions.builder().master(master.address()).name("server").build());
             Node caller = Node.join(NodeOptions.builder().master(master.address()).name("caller").build());
             StatusPage page = StatusPage.builder(master).sampleInterval(Duration.ofMillis(250)).start();
             HeadlessChromium browser = HeadlessChromium.start()) {
            server.newServer("echo").inline(0, call -> call.reply(call.request().buffer())).start();
            Client echo = caller.client("echo");
            echo.awaitServers(1, SOON);
            assertTrue(server.coordination().lock("checkpoint").tryLock());
            Thread load = Thread.ofPlatform().start(() -> {
                for (int i = 0; i < 10_000_000 && !stop.get(); i++) {
                    echo.call(0, new byte[16]);
                    if (i % 50 == 49) {
                        java.util.concurrent.locks.LockSupport.parkNanos(1_000_000);
                    }
                }
            });
            try {
                browser.open("http://127.0.0.1:" + page.address().getPort() + "/");
                awaitNames(browser, List.of("server", "caller"));
                awaitTrue(browser, "return document.getElementById('live').textContent === 'live'");
                awaitTrue(browser, "return document.querySelectorAll('#chart-rate canvas').length === 1"
                        + " && document.querySelectorAll('#chart-p99 canvas').length === 1");
                awaitTrue(browser, "return [...document.querySelectorAll('#locks tbody td')]"
                        + ".some(td => td.textContent === 'checkpoint')");
                awaitTrue(browser, "return [...document.querySelectorAll('#services tbody td')]"
                        + ".some(td => td.textContent === 'echo')");
                // The rate column shows the caller's calls once two samples are in.
                awaitTrue(browser, "const r = [...document.querySelectorAll('#nodes tbody tr')]"
                        + ".find(r => r.cells[1].textContent === 'caller'); return r && r.cells[6].textContent !== '–'"
                        + " && parseFloat(r.cells[6].textContent.replace(/,/g, '')) > 0");

                try (Node late = Node.join(NodeOptions.builder().master(master.address()).name("late").build())) {
                    assertEquals(2, late.rank());
                    awaitNames(browser, List.of("server", "caller", "late"));
                }
                awaitNames(browser, List.of("server", "caller"));
                Path shot = Path.of("target", "status-page.png");
                Files.write(shot, browser.screenshot());
                assertTrue(Files.size(shot) > 10_000, "a screenshot was taken");

                List<String> errors = new ArrayList<>();
                for (String entry : browser.consoleLog()) {
                    if (entry.startsWith("SEVERE") || entry.startsWith("ERROR")) {
                        errors.add(entry);
                    }
                }
                assertEquals(List.of(), errors, "console errors");
            } finally {
                stop.set(true);
                load.join(10_000);
            }
        }
    }

    private static void awaitNames(HeadlessChromium browser, List<String> names) throws Exception {
        long end = System.nanoTime() + SOON.toNanos();
        List<String> seen = List.of();
        while (System.nanoTime() < end) {
            JsonElement e = browser.execute("return [...document.querySelectorAll('#nodes tbody tr')]"
                    + ".map(r => r.cells[1].textContent)");
            seen = new ArrayList<>();
            for (JsonElement x : e.getAsJsonArray()) {
                seen.add(x.getAsString());
            }
            if (seen.equals(names)) {
                return;
            }
            Thread.sleep(100);
        }
        assertEquals(names, seen, "the nodes the page lists");
    }

    private static void awaitTrue(HeadlessChromium browser, String script) throws Exception {
        long end = System.nanoTime() + SOON.toNanos();
        while (System.nanoTime() < end) {
            JsonElement e = browser.execute(script);
            if (e != null && !e.isJsonNull() && e.getAsBoolean()) {
                return;
            }
            Thread.sleep(100);
        }
        fail("still false after " + SOON.toSeconds() + " s: " + script);
    }
}
