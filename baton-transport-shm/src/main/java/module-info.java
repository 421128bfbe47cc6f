/** Baton's shared-memory transport: nodes on one host talk through mapped rings, others through TCP. */
module dev.baton.shm {
    requires transitive dev.baton;
    requires jdk.net;      // SO_PEERCRED: only this user's processes may connect
    requires java.management;   // SpinBudget: the loop thread's CPU time
    exports dev.baton.shm;

    provides dev.baton.spi.SharedMemoryProvider with dev.baton.shm.ShmProvider;
}
