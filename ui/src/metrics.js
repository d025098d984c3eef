// Reads /metrics (Prometheus text format) into {name, labels, value} samples: the built-in
// projectors' counters and lag, for servers without GET /groups.
import { authHeaders, errorOf, url } from "@ui/api.js";

export async function readMetrics(signal) {
    const res = await fetch(url("metrics"), { headers: authHeaders(), signal, cache: "no-store" });
    if (!res.ok) throw await errorOf(res);
    return parseMetrics(await res.text());
}

export function parseMetrics(text) {
    const out = [];
    for (const line of text.split("\n")) {
        if (!line || line.startsWith("#")) continue;
        const m = line.match(/^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/);
        if (!m) continue;
        const labels = {};
        for (const l of (m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2].replace(/\\(.)/g, "$1");
        out.push({ name: m[1], labels, value: Number(m[3]) });
    }
    return out;
}

// Built-in projectors from the metrics: [{group, topic, applied, lag, dead_lettered, stopped, …}].
export function builtinProjectors(samples) {
    const by = new Map();
    const names = {
        prom_projector_applied_total: "applied",
        prom_projector_batches_total: "batches",
        prom_projector_retries_total: "retries",
        prom_projector_dead_lettered_total: "dead_lettered",
        prom_projector_stopped: "stopped",
        prom_consumer_lag: "lag",
        prom_consumer_lag_events: "lag",
        prom_consumer_lag_seconds: "lag_seconds",
        prom_consumer_cursor: "cursor",
    };
    for (const s of samples) {
        const field = names[s.name];
        if (!field || !s.labels.group) continue;
        const k = `${s.labels.topic ?? ""}\u0000${s.labels.group}`;
        if (!by.has(k)) by.set(k, { topic: s.labels.topic ?? "", group: s.labels.group });
        by.get(k)[field] = s.value;
    }
    return [...by.values()].sort((a, b) => (a.group + a.topic).localeCompare(b.group + b.topic));
}
