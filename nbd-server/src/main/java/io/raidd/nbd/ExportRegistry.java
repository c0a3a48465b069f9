package io.raidd.nbd;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/** Export name to export, safe to change while clients negotiate. */
final class ExportRegistry {
    private final ConcurrentHashMap<String, ExportEntry> entries = new ConcurrentHashMap<>();
    private final String defaultExportName;

    ExportRegistry(String defaultExportName) {
        this.defaultExportName = defaultExportName;
    }

    ExportEntry add(NbdExport export) {
        ExportEntry entry = new ExportEntry(export);
        if (entries.putIfAbsent(export.name(), entry) != null) {
            throw new IllegalArgumentException("export " + export.name() + " already exists");
        }
        return entry;
    }

    /** Unpublishes the export now; the future completes when its last session has closed. */
    CompletableFuture<Void> remove(String name) {
        ExportEntry entry = entries.remove(name);
        if (entry == null) {
            return CompletableFuture.failedFuture(new IllegalArgumentException("no export " + name));
        }
        return entry.remove();
    }

    /** The empty name selects the configured default export, as EXPORT_NAME, INFO and GO specify. */
    ExportEntry resolve(String requestedName) {
        ExportEntry entry = entries.get(requestedName);
        if (entry == null && requestedName.isEmpty() && defaultExportName != null) {
            entry = entries.get(defaultExportName);
        }
        return entry;
    }

    ExportEntry get(String name) {
        return entries.get(name);
    }

    List<ExportEntry> list() {
        List<ExportEntry> list = new ArrayList<>(entries.values());
        list.sort(Comparator.comparing(e -> e.export.name()));
        return list;
    }
}
