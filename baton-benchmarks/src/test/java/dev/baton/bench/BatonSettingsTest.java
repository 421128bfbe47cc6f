package dev.baton.bench;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;

@Timeout(10)
class BatonSettingsTest {

    @Test
    void busyPollSpinsWhereNoSpinWasGiven() {
        assertEquals(new BatonSettings(BatonSettings.BUSY_POLL_SPIN, BatonSettings.BUSY_POLL_SPIN, 0, 0, false),
                BatonSettings.forRun(null, null, true, false));
        assertEquals(new BatonSettings(Duration.ZERO, BatonSettings.BUSY_POLL_SPIN, 0, 0, false),
                BatonSettings.forRun(Duration.ZERO, null, true, false));
    }

    @Test
    void withoutBusyPollOnlyTheGivenSpinsChange() {
        assertEquals(BatonSettings.DEFAULTS, BatonSettings.forRun(null, null, false, false));
        assertEquals(new BatonSettings(null, Duration.ofMillis(1), 0, 0, false),
                BatonSettings.forRun(null, Duration.ofMillis(1), false, false));
    }
}
