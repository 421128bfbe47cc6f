package dev.baton.bench;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The numbers of the JSON document: what people and scripts read. */
@Timeout(10)
class ReportTest {

    private static String json(Double d) {
        return Report.number(d).toString();
    }

    @Test
    void numbersHaveAtMostThreeDecimalsAndNoTrailingZeros() {
        assertEquals("41.3", json(41.3));
        assertEquals("1.235", json(1.2345));
        assertEquals("1200", json(1200.0));
        assertEquals("1234567890123", json(1234567890123.0));
        assertEquals("0.001", json(0.0012));
        assertEquals("0", json(0.0001));
        assertEquals("-0.5", json(-0.5));
    }

    @Test
    void whatWasNotMeasuredOrIsNotANumberIsNull() {
        assertEquals("null", json(null));
        assertEquals("null", json(Double.NaN));
        assertEquals("null", json(Double.POSITIVE_INFINITY));
        assertEquals("null", json(Double.NEGATIVE_INFINITY));
    }
}
