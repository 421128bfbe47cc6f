package dev.baton.tracker;

import com.google.gson.JsonParser;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The summary's JSON and text, against what TVM's tracker sends and its {@code text_summary} prints. */
@Timeout(10)
class TrackerSummaryTest {

    private static TrackerSummary sample() {
        return new TrackerSummary(new TreeMap<>(Map.of(
                "rasp", new TrackerSummary.Queue(1, 0),
                "android", new TrackerSummary.Queue(0, 2),
                "ghost", new TrackerSummary.Queue(0, 0))),
                List.of(new TrackerSummary.Server("server:rasp", "127.0.0.1", 9091),
                        new TrackerSummary.Server("server:android", "10.0.0.2", 9092)));
    }

    @Test
    void theTextIsTvmsQueryRpcTrackerOutputCharacterForCharacter() {
        // client.py text_summary: f"{addr:21s}    key", title f"{'key':<{w}s}   total  free  pending", rows
        // f"{k:<{w}}   {total:<5d}  {free:<4d}  {pending:<7d}", lines of len(title) dashes (newline counted),
        // rows with neither servers nor waiting requests left out.
        // Printed by text_summary itself (Python 3) for the same summary.
        String expected = "Server List\n------------------------------\nserver-address           key\n"
                + "------------------------------\n10.0.0.2:9092            server:android\n"
                + "127.0.0.1:9091           server:rasp\n------------------------------\n\nQueue Status\n"
                + "-------------------------------\nkey       total  free  pending\n"
                + "-------------------------------\nandroid   1      0     2      \nrasp      1      1     0      \n"
                + "-------------------------------\n";
        assertEquals(expected, sample().toText());
    }

    @Test
    void anEmptyTrackerPrintsEmptyTables() {
        String expected = "Server List\n------------------------------\nserver-address           key\n"
                + "------------------------------\n------------------------------\n\nQueue Status\n"
                + "---------------------------\nkey   total  free  pending\n---------------------------\n"
                + "---------------------------\n";
        assertEquals(expected, new TrackerSummary(new TreeMap<>(), List.of()).toText());
    }

    @Test
    void theJsonHasTvmsShapeAndReadsBack() {
        String json = "{\"queue_info\":{\"android\":{\"free\":0,\"pending\":2},\"ghost\":{\"free\":0,\"pending\":0},"
                + "\"rasp\":{\"free\":1,\"pending\":0}},\"server_info\":[{\"key\":\"server:rasp\",\"addr\":"
                + "[\"127.0.0.1\",9091]},{\"key\":\"server:android\",\"addr\":[\"10.0.0.2\",9092]}]}";
        assertEquals(JsonParser.parseString(json), sample().toJson());
        assertEquals(sample(), TrackerSummary.fromJson(JsonParser.parseString(json)));
    }

    @Test
    void readingTvmsOwnTrackerAcceptsStringPortsAndExtraFields() {
        // TVM's tracker stores the C++ dialect's UPDATE_INFO as sent: the port a string.
        String json = "{\"queue_info\": {\"android\": {\"free\": 1, \"pending\": 0}}, \"server_info\": ["
                + "{\"key\": \"server:android\", \"addr\": [\"192.168.1.7\", \"9090\"], \"extra\": true},"
                + "{\"key\": \"server:broken\", \"addr\": [\"h\"]}]}";
        TrackerSummary s = TrackerSummary.fromJson(JsonParser.parseString(json));
        assertEquals(List.of(new TrackerSummary.Server("server:android", "192.168.1.7", 9090)), s.servers());
        assertEquals(1, s.total("android"));
        assertThrows(IllegalArgumentException.class, () -> TrackerSummary.fromJson(JsonParser.parseString("[0]")));
    }

    @Test
    void aProxysKeyCountsUnderItsBracketedName() {
        TrackerSummary.Server proxy = new TrackerSummary.Server("server:proxy[rasp,android]", "h", 1);
        assertEquals("proxy[rasp,android]", proxy.deviceKey());
        assertEquals("rasp", new TrackerSummary.Server("server:rasp:extra", "h", 1).deviceKey());
    }

    @Test
    void batonServersFollowTvmsTablesAsDocsTrackerMdShowsThemAndRoundTripThroughJson() {
        TrackerSummary tvmOnly = new TrackerSummary(new TreeMap<>(), List.of());
        TrackerSummary s = new TrackerSummary(new TreeMap<>(), List.of(),
                new TreeMap<>(Map.of("gpu", new TrackerSummary.Queue(1, 0))),
                List.of(new TrackerSummary.BatonServer("gpu", "kernels", 0, 1, 3),
                        new TrackerSummary.BatonServer("gpu", "kernels", 1, 2, -1)));
        String baton = """

                Baton Server List
                ---------------------------------------
                key   service   server  rank  leased-to
                ---------------------------------------
                gpu   kernels   0       1     3
                gpu   kernels   1       2     -
                ---------------------------------------

                Baton Queue Status
                --------------------------
                key   total  free  pending
                --------------------------
                gpu   2      1     0
                --------------------------
                """;
        assertEquals(tvmOnly.toText() + baton, s.toText());
        assertEquals(s, TrackerSummary.fromJson(s.toJson()));
        assertEquals(2, s.toJson().getAsJsonObject("baton").getAsJsonObject("queue_info").getAsJsonObject("gpu")
                .get("total").getAsInt());
        assertEquals(false, tvmOnly.toJson().has("baton"), "a summary of TVM servers alone is TVM's exactly");
    }
}
