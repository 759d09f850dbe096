package org.elasticsearch.plugins;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.jdk.ModuleQualifiedExportsService;

/**
 * The node's plugins service with plugins loaded from the classpath (the module jars Maven fetched) instead of
 * an installation's modules/ folder, which this launcher does not have. In this package because the loaded-plugin
 * record is package-private; Elastic's test framework does the same in its MockPluginsService.
 */
public class ClasspathPluginsService extends PluginsService {
    private final List<LoadedPlugin> all;

    public ClasspathPluginsService(Settings settings, Environment environment, Collection<Class<? extends Plugin>> classes) {
        super(settings, environment.configFile(), environment.modulesFile(), environment.pluginsFile());
        all = new ArrayList<>(super.plugins());
        for (Class<? extends Plugin> type : classes) {
            PluginDescriptor descriptor = new PluginDescriptor(
                type.getName(), "classpath plugin", "NA", org.elasticsearch.Version.CURRENT.toString(), "17",
                type.getName(), null, List.of(), false, false, false, false
            );
            all.add(new LoadedPlugin(descriptor, loadPlugin(type, settings, environment.configFile())));
        }
        loadExtensions(all);
    }

    @Override
    protected void addServerExportsService(Map<String, List<ModuleQualifiedExportsService>> exports) {
        // the server runs from the classpath (no named module), so it has no qualified exports to add
    }

    @Override
    protected List<LoadedPlugin> plugins() {
        return all;
    }
}
