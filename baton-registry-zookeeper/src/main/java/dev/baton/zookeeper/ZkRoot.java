package dev.baton.zookeeper;

import dev.baton.Status;
import org.apache.curator.framework.CuratorFramework;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.data.Stat;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * A cluster's root and its skeleton (see {@link ZkLayout}): created by the first node, checked by every other in
 * one read. The layout znode is created last, so a node that finds it finds the skeleton complete.
 */
final class ZkRoot {

    private ZkRoot() {
    }

    /**
     * Makes what is missing of the root, or checks it; a root that is not a Baton cluster, or one of another
     * layout version, is an INVALID_ARGUMENT error that says so. ZooKeeper's own failures pass through.
     */
    static void prepare(CuratorFramework client, ZkLayout layout) throws Exception {
        try {
            checkLayout(layout, client.getData().forPath(layout.layout));
            return;
        } catch (KeeperException.NoNodeException firstNode) {
            // the cluster is new (or a first node died half-way): make what is missing
        }
        Stat rootStat = client.checkExists().forPath(layout.root);
        if (rootStat != null && rootStat.getNumChildren() > 0) {
            List<String> children = client.getChildren().forPath(layout.root);
            if (!List.of(layout.skeletonNames()).containsAll(children)) {
                throw Status.of(Status.Code.INVALID_ARGUMENT, "ZooKeeper root " + layout.root + " holds something "
                        + "that is not a Baton cluster (" + children + "); choose another root").asException();
            }
        }
        for (String path : layout.skeleton()) {
            createIfAbsent(client, path, new byte[0]);
        }
        createIfAbsent(client, layout.nextRank, "0".getBytes(StandardCharsets.UTF_8));
        try {
            client.create().forPath(layout.layout, ZkLayout.VERSION.getBytes(StandardCharsets.UTF_8));
        } catch (KeeperException.NodeExistsException raced) {
            checkLayout(layout, client.getData().forPath(layout.layout));
        }
    }

    private static void checkLayout(ZkLayout layout, byte[] found) {
        String version = new String(found, StandardCharsets.UTF_8);
        if (!ZkLayout.VERSION.equals(version)) {
            throw Status.of(Status.Code.INVALID_ARGUMENT, "ZooKeeper root " + layout.root + " holds a Baton cluster "
                    + "of layout '" + version + "'; this Baton reads '" + ZkLayout.VERSION + "'").asException();
        }
    }

    private static void createIfAbsent(CuratorFramework client, String path, byte[] data) throws Exception {
        try {
            client.create().creatingParentsIfNeeded().forPath(path, data);   // ROOT's parents are persistent
        } catch (KeeperException.NodeExistsException already) {
            // made by another node
        }
    }
}
