package dev.baton.status;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;

/**
 * The page's files, read once from the class path: its own (index.html, app.js, app.css) and uPlot's, from the
 * WebJar whose version {@code assets.properties} names (filtered from the POM).
 *
 * @param files by URL path
 */
record Assets(Map<String, Asset> files) {

    /** One file: its bytes and content type. */
    record Asset(byte[] bytes, String contentType) {
    }

    private static final String OWN = "page/";

    static Assets load() {
        Properties p = new Properties();
        try (InputStream in = Assets.class.getResourceAsStream(OWN + "assets.properties")) {
            if (in == null) {
                throw new IllegalStateException("assets.properties is missing from baton-status");
            }
            p.load(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        String uplot = "META-INF/resources/webjars/uplot/" + p.getProperty("uplot.version") + "/dist/";
        Map<String, Asset> files = new LinkedHashMap<>();
        files.put("/", own("index.html", "text/html; charset=utf-8"));
        files.put("/assets/app.js", own("app.js", "text/javascript; charset=utf-8"));
        files.put("/assets/app.css", own("app.css", "text/css; charset=utf-8"));
        files.put("/assets/uPlot.iife.min.js", webJar(uplot + "uPlot.iife.min.js", "text/javascript; charset=utf-8"));
        files.put("/assets/uPlot.min.css", webJar(uplot + "uPlot.min.css", "text/css; charset=utf-8"));
        files.put("/assets/uPlot.LICENSE.txt", webJar(uplot.replace("dist/", "") + "LICENSE",
                "text/plain; charset=utf-8"));
        return new Assets(Map.copyOf(files));
    }

    private static Asset own(String name, String type) {
        try (InputStream in = Assets.class.getResourceAsStream(OWN + name)) {
            return new Asset(require(in, name).readAllBytes(), type);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Asset webJar(String path, String type) {
        try (InputStream in = Assets.class.getClassLoader().getResourceAsStream(path)) {
            return new Asset(require(in, path).readAllBytes(), type);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static InputStream require(InputStream in, String what) {
        if (in == null) {
            throw new IllegalStateException(what + " is missing from the class path (baton-status and its uPlot"
                    + " WebJar must both be on it)");
        }
        return in;
    }
}
