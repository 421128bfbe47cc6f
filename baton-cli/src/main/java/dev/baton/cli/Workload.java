package dev.baton.cli;

/** One kind of call the demo makes: a service, a method, and the name its table row shows. */
enum Workload {
    ECHO("echo", DemoServices.ECHO, DemoServices.ECHO_METHOD),
    SUM("compute.sum", DemoServices.COMPUTE, DemoServices.SUM_METHOD),
    SHA256("compute.sha256", DemoServices.COMPUTE, DemoServices.SHA256_METHOD);

    final String label;
    final String service;
    final int method;

    Workload(String label, String service, int method) {
        this.label = label;
        this.service = service;
        this.method = method;
    }
}
