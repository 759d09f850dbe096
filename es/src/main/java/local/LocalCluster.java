package local;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.elasticsearch.common.logging.LogConfigurator;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.node.InternalSettingsPreparer;
import org.elasticsearch.node.LocalNode;
import org.elasticsearch.node.Node;
import org.elasticsearch.transport.netty4.Netty4Plugin;

/**
 * Starts N Elasticsearch nodes in this JVM, bound to 127.0.0.1, forming one cluster:
 * HTTP on http-port .. http-port+N-1, transport on transport-port .. transport-port+N-1,
 * each node's data under DIR/node-I. Writes DIR/pid once every node has started.
 * While running, creating the file DIR/stop-node-I stops node I (for node-loss tests); the JVM exits
 * on SIGTERM after closing every node.
 *
 * Usage: LocalCluster DIR [nodes=3] [http-port=9200] [transport-port=9300] [cluster-name=image-search-local]
 */
public final class LocalCluster {
    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]).toAbsolutePath();
        int count = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        int httpPort = args.length > 2 ? Integer.parseInt(args[2]) : 9200;
        int transportPort = args.length > 3 ? Integer.parseInt(args[3]) : 9300;
        String clusterName = args.length > 4 ? args[4] : "image-search-local";

        LogConfigurator.configureESLogging();
        LogConfigurator.configureWithoutConfig(Settings.builder()
            .put("logger.level", "INFO")
            // it keeps the node and cluster id for log lines in a JVM-wide set-once: the 2nd node's attempt is harmless
            .put("logger.org.elasticsearch.common.logging.NodeAndClusterIdStateListener", "OFF")
            .build());

        List<String> seeds = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            seeds.add("127.0.0.1:" + (transportPort + i));
        }
        Node[] nodes = new Node[count];
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            for (Node node : nodes) {
                close(node);
            }
        }));
        for (int i = 0; i < count; i++) {
            Path home = dir.resolve("node-" + i);
            Files.createDirectories(home.resolve("modules"));
            Files.createDirectories(home.resolve("plugins"));
            Files.createDirectories(home.resolve("config"));
            Settings settings = Settings.builder()
                .put("cluster.name", clusterName)
                .put("node.name", "node-" + i)
                .put("path.home", home.toString())
                .put("path.data", home.resolve("data").toString())
                .put("path.logs", dir.resolve("logs").toString())
                .put("network.host", "127.0.0.1")
                .put("http.port", httpPort + i)
                .put("transport.port", transportPort + i)
                .put("http.type", "netty4")
                .put("transport.type", "netty4")
                .putList("discovery.seed_hosts", seeds)
                // node-0 alone bootstraps the cluster, the others join it: no split votes at the first start
                .putList("cluster.initial_master_nodes", "node-0")
                // a shared development disk: never turn indices read-only because the disk is 90% full
                .put("cluster.routing.allocation.disk.threshold_enabled", false)
                .put("action.destructive_requires_name", false)
                .build();
            nodes[i] = new LocalNode(
                InternalSettingsPreparer.prepareEnvironment(settings, Map.of(), null, () -> null),
                List.of(Netty4Plugin.class, RootInfoPlugin.class)
            );
        }
        // in parallel: each node's start() waits until it has joined the cluster, which needs the others
        List<Thread> starts = new ArrayList<>();
        Exception[] failed = new Exception[1];
        for (Node node : nodes) {
            Thread start = new Thread(() -> {
                try {
                    node.start();
                } catch (Exception e) {
                    failed[0] = e;
                }
            });
            start.start();
            starts.add(start);
        }
        for (Thread start : starts) {
            start.join();
        }
        if (failed[0] != null) {
            throw failed[0];
        }
        Files.writeString(dir.resolve("pid"), ProcessHandle.current().pid() + "\n");
        while (true) {  // node-loss tests stop one node by creating DIR/stop-node-I
            for (int i = 0; i < count; i++) {
                if (nodes[i] != null && Files.exists(dir.resolve("stop-node-" + i))) {
                    close(nodes[i]);
                    nodes[i] = null;
                }
            }
            Thread.sleep(200);
        }
    }

    private static void close(Node node) {
        if (node == null) {
            return;
        }
        try {
            node.close();
        } catch (Exception e) {
            e.printStackTrace();
        }
    }
}
