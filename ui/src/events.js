// Event browser: tails a topic live over the gateway (an ephemeral subscription: no cursor
// is stored), filters by key, opens one event's JSON (docs/dashboard.md).
import { getJSON } from "@ui/api.js";
import { fill, h, show, showJSON, showTime } from "@ui/dom.js";
import { VirtualTable } from "@ui/vtable.js";

const keepEvents = 5000;

export function mount(main, ctx) {
    let events = [];
    let dropped = 0;  // older events let go of, to keep keepEvents
    let topic = null;
    let keyFilter = "";
    let arrivals = 0;  // numbers events in arrival order (ties of ts in a pattern's rows)
    const topicInput = h("input", { id: "ev-topic", type: "text", value: "heartbeat.received", list: "ev-topics", autocomplete: "off", required: true });
    const topicList = h("datalist", { id: "ev-topics" });
    const fromSelect = h("select", { id: "ev-from" }, h("option", { value: "latest" }, "new events"), h("option", { value: "earliest" }, "from the first event"));
    const keyInput = h("input", { id: "ev-key", type: "search", autocomplete: "off" });
    const summary = h("p", { id: "ev-summary", role: "status" }, "Not tailing.");
    const detail = h("pre", { id: "ev-detail", class: "json", tabindex: 0, "aria-label": "The selected event as JSON" });
    const detailTitle = h("h3", { id: "ev-detail-title" }, "Event");
    const table = new VirtualTable({
        label: "Events",
        columns: [
            { key: "topic", label: "Topic", width: "minmax(7em, 1fr)", text: (e) => show(e.topic) },
            { key: "seq", label: "Seq", width: "6em", text: (e) => show(e.seq) },
            { key: "ts", label: "Time", width: "11em", text: (e) => showTime(e.ts) },
            { key: "key", label: "Key", width: "minmax(10em, 1fr)", text: (e) => show(e.key) },
            { key: "payload", label: "Payload", width: "minmax(12em, 3fr)", text: (e) => e.payload === null ? "null" : show(e.payload).slice(0, 300) },
        ],
        rowKey: (e) => `${e.topic}\u0000${e.seq}`,
        onActivate: (e) => {
            detailTitle.textContent = `Event ${e.seq} of ${e.topic}`;
            const { arrival, ...event } = e;
            detail.textContent = showJSON(event, 2);
        },
    });
    let frame = 0;
    let refusal = "";
    let warning = "";  // some topics of a pattern are not delivered (too_many)
    const render = () => {
        frame = 0;
        const rows = keyFilter ? events.filter((e) => String(e.key ?? "").includes(keyFilter)) : events;
        // One topic: newest = highest seq, its arrival order. A pattern's topics arrive a
        // batch per topic, in no order between them: newest = latest ts.
        const ordered = [...rows].reverse();
        if (topic?.endsWith("*")) ordered.sort((a, b) => (b.ts ?? 0) - (a.ts ?? 0) || b.arrival - a.arrival);
        table.setRows(ordered);
        // A refusal stays said: a frame drawn after it must not replace it with "0 events".
        if (refusal) {
            summary.textContent = refusal;
            return;
        }
        // The page keeps the newest keepEvents: it says so once older ones went (found from
        // outside: "from the first event" showed 5000 of 6000 without a word).
        const older = dropped ? ` (the newest ${keepEvents}: ${dropped} older ones are not kept)` : "";
        summary.textContent = topic ? `${events.length} events of ${topic} (newest first)${older}${keyFilter ? `, ${rows.length} with a key containing “${keyFilter}”` : ""}${warning ? `. Not shown: ${warning}` : ""}` : "Not tailing.";
    };
    const schedule = () => { if (!frame) frame = requestAnimationFrame(render); };
    const gw = ctx.gateway();
    const start = () => {
        const t = topicInput.value.trim();
        if (!t) {
            // Only spaces: the browser's `required` takes them for a value (found from outside:
            // Tail did nothing and said nothing).
            topicInput.setCustomValidity("Type a topic name (or a pattern ending in *).");
            topicInput.reportValidity();
            return;
        }
        if (topic) gw.unsubscribe(topic);
        topic = t;
        events = [];
        dropped = 0;
        refusal = "";
        warning = "";
        gw.subscribe(topic, {
            from: fromSelect.value,
            onEvents: (evs) => {
                for (const e of evs) events.push({ ...e, arrival: ++arrivals });
                if (events.length > keepEvents) {
                    dropped += events.length - keepEvents;
                    events = events.slice(events.length - keepEvents);
                }
                schedule();
            },
            onError: (f) => {
                // too_many: the pattern goes on with the topics it has; the others are named.
                if (f.error === "too_many") warning = f.message ?? f.error;
                else refusal = `Cannot tail ${topic}: ${f.message ?? f.error}`;
                schedule();
            },
        });
        schedule();
    };
    keyInput.addEventListener("input", () => { keyFilter = keyInput.value; schedule(); });
    topicInput.addEventListener("input", () => topicInput.setCustomValidity(""));
    fill(main,
        h("h2", {}, "Events"),
        h("form", { class: "filters", "aria-label": "Tail a topic", onsubmit: (e) => { e.preventDefault(); start(); } },
            h("label", { for: "ev-topic" }, "Topic"), topicInput, topicList,
            h("label", { for: "ev-from" }, "Show"), fromSelect,
            h("button", { type: "submit" }, "Tail"),
            h("label", { for: "ev-key" }, "Key contains"), keyInput),
        summary,
        h("div", { class: "split" }, table.element, h("section", { class: "card", "aria-labelledby": "ev-detail-title" }, detailTitle, detail)));
    // Topic names for the field, where the server lists them (GET /topics).
    getJSON("topics").then(({ body }) => fill(topicList, body.items.map((t) => h("option", { value: t.topic })))).catch(() => {});
    start();
    return () => {
        if (topic) gw.unsubscribe(topic);
        cancelAnimationFrame(frame);
    };
}
