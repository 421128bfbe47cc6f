package dev.baton.bench;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

@Timeout(10)
class FormatTest {

    @Test
    void parsesDurationsWithUnitsAndBareSeconds() {
        assertEquals(Duration.ofSeconds(10), Format.parseDuration("10"));
        assertEquals(Duration.ofSeconds(10), Format.parseDuration("10s"));
        assertEquals(Duration.ofMillis(1500), Format.parseDuration("1.5s"));
        assertEquals(Duration.ofMillis(500), Format.parseDuration("500ms"));
        assertEquals(Duration.ofNanos(50_000), Format.parseDuration("50us"));
        assertEquals(Duration.ofNanos(50_000), Format.parseDuration("50µs"));
        assertEquals(Duration.ofNanos(200), Format.parseDuration("200ns"));
        assertEquals(Duration.ofMinutes(2), Format.parseDuration("2m"));
        assertEquals(Duration.ofSeconds(3), Format.parseDuration("PT3S"));
    }

    @Test
    void rejectsWhatIsNotADuration() {
        assertThrows(IllegalArgumentException.class, () -> Format.parseDuration("soon"));
        assertThrows(IllegalArgumentException.class, () -> Format.parseDuration("-1s"));
    }

    @Test
    void printsDurationsInTheirLargestExactUnit() {
        assertEquals("0", Format.duration(Duration.ZERO));
        assertEquals("50 µs", Format.duration(Duration.ofNanos(50_000)));
        assertEquals("2 s", Format.duration(Duration.ofSeconds(2)));
        assertEquals("1.500 s", Format.duration(Duration.ofMillis(1500)));
    }
}
