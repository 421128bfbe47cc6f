package dev.baton.internal.rpc;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.InetSocketAddress;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;

@Timeout(10)
class AdvertisedAddressTest {

    @Test
    void aWildcardBindAdvertisesTheAddressOnTheRouteToTheMaster() {
        // A connected UDP socket only picks a route: nothing is sent to port 9.
        InetSocketAddress a = NodeRuntime.advertised(new InetSocketAddress("0.0.0.0", 4242),
                new InetSocketAddress("127.0.0.1", 9));
        assertEquals(new InetSocketAddress("127.0.0.1", 4242), a);
    }

    @Test
    void aWildcardBindWithoutAMasterAdvertisesAConcreteAddress() {
        InetSocketAddress a = NodeRuntime.advertised(new InetSocketAddress("0.0.0.0", 4242), null);
        assertFalse(a.getAddress().isAnyLocalAddress(), a.toString());
        assertEquals(4242, a.getPort());
    }

    @Test
    void aConcreteBindIsAdvertisedAsItIs() {
        InetSocketAddress bound = new InetSocketAddress("127.0.0.1", 4242);
        assertSame(bound, NodeRuntime.advertised(bound, new InetSocketAddress("127.0.0.1", 9)));
    }
}
