package searchkit.opensearch;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.opensearch.analysis.common.CommonAnalysisPlugin;
import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.index.mapper.MapperExtrasPlugin;
import org.opensearch.index.reindex.ReindexPlugin;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.painless.PainlessPlugin;
import org.opensearch.plugins.Plugin;
import org.opensearch.transport.Netty4Plugin;

/**
 * One real OpenSearch node in this JVM, for searchkit's tests (issue #17).
 *
 * <p>The node is built from the server jar and the modules on the classpath (no
 * distribution, no security plugin: plain HTTP on loopback). Started without
 * OpenSearch's Bootstrap, so there is no root refusal, security manager or bootstrap
 * check; it binds 127.0.0.1 only. Driven by tools/osnode/osnode.py; by hand:
 *
 * <pre>
 * java -cp target/classes:$(cat target/classpath.txt) searchkit.opensearch.Launcher \
 *     --home DIR --http-port 9200 --transport-port 9300 [--cluster NAME] [--node NAME]
 *     [--seed-hosts 127.0.0.1:9300,127.0.0.1:9301 --initial-managers n0,n1,n2]
 *     [--watch-pid PID] [-E key=value ...]
 * </pre>
 *
 * Prints {@code OSNODE READY <http address>} once the node has started, and closes it
 * on SIGTERM or SIGINT (or when the watched process exits), then prints
 * {@code OSNODE STOPPED}.
 */
public final class Launcher {

    /** The modules searchkit needs: HTTP/transport, analysis, mappers, reindex, scripts. */
    static final List<Class<? extends Plugin>> PLUGINS = List.of(
        Netty4Plugin.class,
        CommonAnalysisPlugin.class,
        MapperExtrasPlugin.class,
        ReindexPlugin.class,
        PainlessPlugin.class);

    /** Node's constructor that takes classpath plugins is protected. */
    static final class ClasspathNode extends Node {
        ClasspathNode(Environment environment, Collection<Class<? extends Plugin>> plugins) {
            super(environment, plugins, true);
        }
    }

    private Launcher() {}

    public static void main(String[] args) throws Exception {
        Map<String, String> opts = new HashMap<>();
        List<String> extra = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            String key = args[i];
            if (i + 1 >= args.length) {
                usage("missing value after " + key);
            }
            String value = args[++i];
            if (key.equals("-E")) {
                extra.add(value);
            } else if (key.startsWith("--")) {
                opts.put(key.substring(2), value);
            } else {
                usage("unknown argument " + key);
            }
        }
        Path home = Path.of(required(opts, "home")).toAbsolutePath();
        String nodeName = opts.getOrDefault("node", "node-0");

        Settings.Builder settings = Settings.builder()
            .put("cluster.name", opts.getOrDefault("cluster", "searchkit-test"))
            .put("node.name", nodeName)
            .put("path.home", home.toString())
            .put("path.data", opts.getOrDefault("data", home.resolve("data").toString()))
            .put("path.logs", home.resolve("logs").toString())
            .put("network.host", "127.0.0.1")
            .put("http.port", required(opts, "http-port"))
            .put("transport.port", required(opts, "transport-port"))
            // a test machine's disk may be nearly full: never block writes for it
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            .put("bootstrap.memory_lock", false);
        String seeds = opts.get("seed-hosts");
        if (seeds == null) {
            settings.put("discovery.type", "single-node");
        } else {
            settings.putList("discovery.seed_hosts", Arrays.asList(seeds.split(",")));
            settings.putList("cluster.initial_cluster_manager_nodes",
                Arrays.asList(required(opts, "initial-managers").split(",")));
        }
        for (String kv : extra) {
            int eq = kv.indexOf('=');
            if (eq <= 0) {
                usage("-E wants key=value, got " + kv);
            }
            settings.put(kv.substring(0, eq), kv.substring(eq + 1));
        }

        Path config = home.resolve("config");
        for (Path dir : List.of(config, home.resolve("modules"), home.resolve("plugins"),
                                home.resolve("logs"))) {
            Files.createDirectories(dir);
        }
        Environment env = InternalSettingsPreparer.prepareEnvironment(
            settings.build(), Map.of(), config, () -> nodeName);

        Node node = new ClasspathNode(env, PLUGINS);
        CountDownLatch closed = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
                if (!node.awaitClose(30, TimeUnit.SECONDS)) {
                    System.err.println("OSNODE close timed out after 30 s");
                }
            } catch (IOException | InterruptedException e) {
                System.err.println("OSNODE close failed: " + e);
            }
            System.out.println("OSNODE STOPPED");
            System.out.flush();
            closed.countDown();
        }, "osnode-shutdown"));

        node.start();
        System.out.println("OSNODE READY http://127.0.0.1:" + opts.get("http-port"));
        System.out.flush();

        String watched = opts.get("watch-pid");
        if (watched != null) {
            Optional<ProcessHandle> parent = ProcessHandle.of(Long.parseLong(watched));
            Thread watcher = new Thread(() -> {
                while (parent.map(ProcessHandle::isAlive).orElse(false)) {
                    try {
                        Thread.sleep(1000);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
                System.err.println("OSNODE watched process " + watched + " is gone: stopping");
                System.exit(0);
            }, "osnode-watch-pid");
            watcher.setDaemon(true);
            watcher.start();
        }
        closed.await();
    }

    private static String required(Map<String, String> opts, String key) {
        String value = opts.get(key);
        if (value == null) {
            usage("--" + key + " is required");
        }
        return value;
    }

    private static void usage(String problem) {
        System.err.println("osnode launcher: " + problem);
        System.err.println("usage: Launcher --home DIR --http-port P --transport-port P"
            + " [--cluster NAME] [--node NAME] [--data DIR] [--seed-hosts H:P,...]"
            + " [--initial-managers NAME,...] [--watch-pid PID] [-E key=value ...]");
        System.exit(64);
    }
}
