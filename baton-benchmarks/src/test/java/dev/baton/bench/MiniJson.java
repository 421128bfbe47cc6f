package dev.baton.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small strict JSON reader for the tests (objects, arrays, strings, numbers, true/false/null), so that they
 * check the harness's output as any JSON consumer would read it, without a JSON library on the class path.
 */
final class MiniJson {

    private final String s;
    private int p;

    private MiniJson(String s) {
        this.s = s;
    }

    /** Maps for objects, lists for arrays, Double, String, Boolean, null. */
    static Object parse(String text) {
        MiniJson j = new MiniJson(text);
        Object v = j.value();
        j.space();
        if (j.p != text.length()) {
            throw j.error("trailing characters");
        }
        return v;
    }

    private Object value() {
        space();
        if (p >= s.length()) {
            throw error("unexpected end");
        }
        char c = s.charAt(p);
        switch (c) {
            case '{' -> {
                return object();
            }
            case '[' -> {
                return array();
            }
            case '"' -> {
                return string();
            }
            default -> {
                if (s.startsWith("true", p)) {
                    p += 4;
                    return Boolean.TRUE;
                }
                if (s.startsWith("false", p)) {
                    p += 5;
                    return Boolean.FALSE;
                }
                if (s.startsWith("null", p)) {
                    p += 4;
                    return null;
                }
                return number();
            }
        }
    }

    private Map<String, Object> object() {
        Map<String, Object> m = new LinkedHashMap<>();
        p++;
        space();
        if (peek() == '}') {
            p++;
            return m;
        }
        while (true) {
            space();
            String key = string();
            space();
            expect(':');
            if (m.put(key, value()) != null) {
                throw error("duplicate key " + key);
            }
            space();
            if (peek() == ',') {
                p++;
                continue;
            }
            expect('}');
            return m;
        }
    }

    private List<Object> array() {
        List<Object> l = new ArrayList<>();
        p++;
        space();
        if (peek() == ']') {
            p++;
            return l;
        }
        while (true) {
            l.add(value());
            space();
            if (peek() == ',') {
                p++;
                continue;
            }
            expect(']');
            return l;
        }
    }

    private String string() {
        expect('"');
        StringBuilder b = new StringBuilder();
        while (true) {
            char c = s.charAt(p++);
            if (c == '"') {
                return b.toString();
            }
            if (c < 0x20) {
                throw error("control character in string");
            }
            if (c != '\\') {
                b.append(c);
                continue;
            }
            char e = s.charAt(p++);
            switch (e) {
                case '"', '\\', '/' -> b.append(e);
                case 'n' -> b.append('\n');
                case 'r' -> b.append('\r');
                case 't' -> b.append('\t');
                case 'b' -> b.append('\b');
                case 'f' -> b.append('\f');
                case 'u' -> {
                    b.append((char) Integer.parseInt(s.substring(p, p + 4), 16));
                    p += 4;
                }
                default -> throw error("bad escape \\" + e);
            }
        }
    }

    private Double number() {
        int start = p;
        while (p < s.length() && "+-0123456789.eE".indexOf(s.charAt(p)) >= 0) {
            p++;
        }
        try {
            return Double.valueOf(s.substring(start, p));
        } catch (NumberFormatException e) {
            throw error("bad value");
        }
    }

    private char peek() {
        if (p >= s.length()) {
            throw error("unexpected end");
        }
        return s.charAt(p);
    }

    private void expect(char c) {
        if (peek() != c) {
            throw error("expected '" + c + "'");
        }
        p++;
    }

    private void space() {
        while (p < s.length() && Character.isWhitespace(s.charAt(p))) {
            p++;
        }
    }

    private IllegalArgumentException error(String what) {
        return new IllegalArgumentException(what + " at offset " + p + ": ..."
                + s.substring(Math.max(0, p - 30), Math.min(s.length(), p + 30)) + "...");
    }
}
