// Topics and groups: events per topic and dead-letter counts (GET /topics), each consumer
// group's lag in events and seconds as a small live chart (GET /groups), and the SLO alarms
// of topic `prom.alerts` (docs/dashboard.md).
import uPlot from "uplot";
import { ApiError, getJSON, sleep } from "@ui/api.js";
import { fill, h, notice, show, showTime } from "@ui/dom.js";

const sampleMs = 2000;
const keep = 150;  // samples per chart: 5 minutes

class LagChart {
    constructor(topic, group) {
        this.xs = [];
        this.ev = [];
        this.sec = [];
        this.figure = h("p", { class: "lag-figure" });
        this.box = h("div", { class: "chart", role: "img", "aria-label": `Lag of group ${group} on ${topic}` });
        this.element = h("figure", { class: "card lag", dataset: { topic, group } },
            h("figcaption", {}, `${group} on ${topic}`), this.figure, this.box);
        this.plot = new uPlot({
            width: 320, height: 140, legend: { show: true },
            scales: { x: { time: true }, ev: { auto: true, range: (u, min, max) => [0, Math.max(1, max)] }, s: { auto: true, range: (u, min, max) => [0, Math.max(1, max)] } },
            series: [{}, { label: "events", stroke: "#0b5cad", width: 2, scale: "ev" }, { label: "seconds", stroke: "#a04000", width: 2, scale: "s", dash: [4, 3] }],
            axes: [{ stroke: "#222" }, { scale: "ev", stroke: "#0b5cad" }, { scale: "s", side: 1, stroke: "#a04000", grid: { show: false } }],
        }, [[], [], []], this.box);
    }

    add(t, g) {
        this.xs.push(t / 1000);
        this.ev.push(g.lag_events ?? null);
        this.sec.push(g.lag_seconds ?? null);
        if (this.xs.length > keep) [this.xs, this.ev, this.sec].forEach((a) => a.shift());
        this.plot.setData([this.xs, this.ev, this.sec]);
        this.element.dataset.lagEvents = String(g.lag_events ?? "");
        this.figure.textContent = `lag ${show(g.lag_events)} events` +
            (g.lag_seconds !== undefined ? `, ${show(g.lag_seconds)} s` : "") +
            (g.active === false ? " (inactive)" : "");
    }
}

export function mount(main, ctx) {
    const topicsBox = h("section", { "aria-labelledby": "h-topics" }, h("h3", { id: "h-topics" }, "Topics"), notice("loading…"));
    const groupsNote = h("p", { class: "hint" });
    const charts = h("div", { class: "charts" });
    const alarmsList = h("div", {}, notice("No alarms received."));
    fill(main, h("h2", {}, "Topics and groups"),
        topicsBox,
        h("section", { "aria-labelledby": "h-groups" }, h("h3", { id: "h-groups" }, "Consumer groups: lag"), groupsNote, charts),
        h("section", { "aria-labelledby": "h-alarms" }, h("h3", { id: "h-alarms" }, "Alarms (prom.alerts)"), alarmsList));
    const abort = new AbortController();
    const chartOf = new Map();

    // Alarms: every event of prom.alerts, the latest state per rule.
    const rules = new Map();
    const gw = ctx.gateway();
    gw.subscribe("prom.alerts", {
        from: "earliest",
        onEvents: (evs) => {
            for (const e of evs) {
                const p = e.payload ?? {};
                rules.set(String(p.rule ?? e.key ?? "?"), { ...p, ts: e.ts });
            }
            fill(alarmsList, h("ul", { class: "alarms" }, [...rules.entries()].map(([rule, p]) =>
                h("li", { class: p.type === "alarm.fired" ? "status-stale" : "status-alive" },
                    `${p.type === "alarm.fired" ? "FIRING" : "resolved"}: ${rule}: ${show(p.reason ?? "")} (${showTime(p.ts)})`))));
        },
        onError: (f) => fill(alarmsList, notice(`Alarms: ${f.message ?? f.error}`, "warn")),
    });

    // A 403 stands until the token changes (which mounts the page again): not asked again.
    let topicsRefused = false, groupsRefused = false;
    (async () => {
        while (!abort.signal.aborted) {
            const now = Date.now();
            if (!topicsRefused) try {
                const { body } = await getJSON("topics", { signal: abort.signal });
                if (!body.items.length) {
                    fill(topicsBox, h("h3", { id: "h-topics" }, "Topics"), notice("No topics yet: nothing was published."));
                } else fill(topicsBox, h("h3", { id: "h-topics" }, "Topics"), h("table", {},
                    h("thead", {}, h("tr", {}, ["Topic", "Events", "Last seq", "Last event", "Dead letters"].map((c) => h("th", { scope: "col" }, c)))),
                    h("tbody", {}, body.items.map((t) => h("tr", { class: t.dead_letters > 0 ? "status-stale" : "" },
                        h("td", {}, show(t.topic)), h("td", {}, show(t.events)), h("td", {}, show(t.last_seq)),
                        h("td", {}, showTime(t.last_ts)), h("td", {}, show(t.dead_letters)))))));
            } catch (e) {
                if (abort.signal.aborted) return;
                topicsRefused = e.status === 403;
                fill(topicsBox, h("h3", { id: "h-topics" }, "Topics"), notice(e.status === 403
                    ? "This token may not list topics (admin permission)."
                    : `Topics: ${e.message}`, "warn"));
            }
            if (!groupsRefused) try {
                const { body: { items } } = await getJSON("groups", { signal: abort.signal });
                groupsNote.textContent = `${items.length} groups.`;
                // The charts follow the list: a deleted group's goes, and one that comes
                // back (even after the list was empty) gets a new one (found from outside: a
                // deleted group's chart stayed frozen, a returning one was never drawn).
                const listed = new Set(items.map((g) => `${g.topic}\u0000${g.group}`));
                for (const [k, c] of chartOf) {
                    if (listed.has(k)) continue;
                    c.plot.destroy();
                    c.element.remove();
                    chartOf.delete(k);
                }
                if (!items.length) fill(charts, notice("No consumer groups."));
                else if (!chartOf.size) fill(charts);
                for (const g of items) {
                    const k = `${g.topic}\u0000${g.group}`;
                    if (!chartOf.has(k)) {
                        const c = new LagChart(g.topic, g.group);
                        chartOf.set(k, c);
                        charts.appendChild(c.element);
                    }
                    chartOf.get(k).add(now, g);
                }
            } catch (e) {
                if (abort.signal.aborted) return;
                groupsRefused = e.status === 403;
                groupsNote.textContent = e.status === 403 ? "This token may not list groups (admin permission)." : `Groups: ${e.message}`;
            }
            await sleep(sampleMs, abort.signal);
        }
    })();
    return () => {
        abort.abort();
        gw.unsubscribe("prom.alerts");
        for (const c of chartOf.values()) c.plot.destroy();
    };
}
