// Hosts: the documents of `host_stats`, each with its host's processes (docs/dashboard.md).
import { ago, fill, h, show, showTime } from "@ui/dom.js";
import { statusClass } from "@ui/processes.js";

// Epoch milliseconds under a name that says time (last_ts, last_seen, started_at).
const isTime = (k, v) => typeof v === "number" && v > 1e11 && /(_ts|_seen|_at)$/.test(k);

export function mount(main, ctx) {
    const list = h("div", { class: "hosts", "aria-live": "off" });
    const summary = h("p", { role: "status" }, "loading…");
    fill(main, h("h2", {}, "Hosts"), summary, list);
    let frame = 0;
    const render = () => {
        frame = 0;
        const stats = ctx.collection("host_stats").docs;
        const byHost = new Map();
        for (const d of ctx.collection("processes").docs.values()) {
            const host = String(d.host ?? "");
            if (!byHost.has(host)) byHost.set(host, []);
            byHost.get(host).push(d);
        }
        const names = [...new Set([...stats.keys(), ...byHost.keys()])].sort();
        const refused = ctx.collection("host_stats").refused || ctx.collection("processes").refused;
        summary.textContent = refused
            ? `Cannot show every host: ${refused}`
            : `${names.length} ${names.length === 1 ? "host" : "hosts"}`;
        fill(list, names.map((host) => {
            const st = stats.get(host) ?? {};
            const procs = (byHost.get(host) ?? []).sort((a, b) => String(a.name).localeCompare(String(b.name)));
            const stale = procs.filter((p) => p.status === "stale").length;
            const fields = Object.entries(st).filter(([k]) => !k.startsWith("_"));
            return h("section", { class: "host card", "aria-label": `Host ${host}` },
                h("h3", {}, host || "(no host)"),
                h("p", {}, `${procs.length} processes, ${stale} stale`),
                fields.length ? h("dl", {}, fields.map(([k, v]) => [h("dt", {}, k), h("dd", {}, isTime(k, v) ? showTime(v) : show(v))])) : null,
                procs.length ? h("table", { class: "small" },
                    h("caption", { class: "sr-only" }, `Processes on ${host}`),
                    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Name"), h("th", { scope: "col" }, "PID"),
                        h("th", { scope: "col" }, "Status"), h("th", { scope: "col" }, "Last seen"))),
                    h("tbody", {}, procs.slice(0, 200).map((p) => h("tr", { class: statusClass(p) },
                        h("td", { title: show(p.name) }, show(p.name)), h("td", {}, show(p.pid)), h("td", {}, show(p.status)),
                        h("td", {}, typeof p.last_seen === "number" ? ago(p.last_seen) : show(p.last_seen)))))) : null,
                procs.length > 200 ? h("p", {}, `… and ${procs.length - 200} more (see Processes)`) : null);
        }));
    };
    const schedule = () => { if (!frame) frame = requestAnimationFrame(render); };
    const offs = [ctx.watch("host_stats", schedule), ctx.watch("processes", schedule)];
    schedule();
    return () => {
        offs.forEach((off) => off());
        cancelAnimationFrame(frame);
    };
}
