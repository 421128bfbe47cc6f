package dev.baton.bench;

import dev.baton.TlsOptions;
import dev.baton.testkit.tls.TestPki;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.netty.handler.ssl.ClientAuth;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslProvider;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import javax.net.ssl.SSLException;

/**
 * The certificates of the TLS systems (baton-tls, grpc-tls): one CA, a server and a client certificate (EC
 * P-256), made once per harness run in a temporary directory that the server JVM is told of and that is deleted
 * when the harness exits. Both systems use the same files, TLS 1.3 and the JDK's TLS implementation, and both
 * authenticate both sides.
 */
final class BenchTls {

    private static BenchTls harness;

    private final Path dir;

    private BenchTls(Path dir) {
        this.dir = dir;
    }

    /** The harness's certificates, made on first use. */
    static synchronized BenchTls harness() {
        if (harness == null) {
            TestPki pki = TestPki.create();
            try {
                TestPki.Ca ca = pki.ca("bench-ca");
                copy(ca.certFile(), pki.dir().resolve("ca.crt"));
                for (String name : new String[] {"server", "client"}) {
                    TestPki.Issued issued = pki.issue(ca, name);
                    copy(issued.certFile(), pki.dir().resolve(name + ".crt"));
                    copy(issued.keyFile(), pki.dir().resolve(name + ".key"));
                }
            } catch (RuntimeException e) {
                pki.close();
                throw e;
            }
            Runtime.getRuntime().addShutdownHook(new Thread(pki::close, "bench-tls-cleanup"));
            harness = new BenchTls(pki.dir());
        }
        return harness;
    }

    /** The certificates in {@code dir}, made by a harness (the server JVM's view). */
    static BenchTls at(Path dir) {
        return new BenchTls(dir);
    }

    Path dir() {
        return dir;
    }

    /** Baton's options for the side named "server" or "client". */
    TlsOptions baton(String side) {
        return TlsOptions.builder().certificate(dir.resolve(side + ".crt"), dir.resolve(side + ".key"))
                .trustedCertificates(dir.resolve("ca.crt")).build();
    }

    /** gRPC's server context: netty-shaded's SslContext on the JDK provider, requiring a client certificate. */
    SslContext grpcServer() throws SSLException {
        return GrpcSslContexts.configure(io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder
                        .forServer(dir.resolve("server.crt").toFile(), dir.resolve("server.key").toFile()),
                        SslProvider.JDK)
                .trustManager(dir.resolve("ca.crt").toFile())
                .clientAuth(ClientAuth.REQUIRE)
                .protocols("TLSv1.3")
                .build();
    }

    /** gRPC's client context, presenting the client certificate. */
    SslContext grpcClient() throws SSLException {
        return GrpcSslContexts.configure(io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder.forClient(),
                        SslProvider.JDK)
                .keyManager(dir.resolve("client.crt").toFile(), dir.resolve("client.key").toFile())
                .trustManager(dir.resolve("ca.crt").toFile())
                .protocols("TLSv1.3")
                .build();
    }

    private static void copy(Path from, Path to) {
        try {
            Files.copy(from, to, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
