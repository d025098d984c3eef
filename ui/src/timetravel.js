// Time travel: a slider and a date-time field over the history of `process.state`; each
// position shows every process as it was at that instant (GET /at/process.state?t=T, the
// same answer as `prom at process.state --all T`), with the changes since the previous
// position marked (docs/dashboard.md).
import { enc, getJSON } from "@ui/api.js";
import { fill, h, notice, show, showTime } from "@ui/dom.js";
import { VirtualTable } from "@ui/vtable.js";

const topic = "process.state";
const windows = [["300000", "last 5 minutes"], ["3600000", "last hour"], ["86400000", "last 24 hours"], ["604800000", "last 7 days"]];

const pad = (n, w = 2) => String(n).padStart(w, "0");
// Epoch ms ↔ the value of an <input type="datetime-local" step="1"> (local time).
export function toLocalInput(ms) {
    const d = new Date(ms);
    return `${pad(d.getFullYear(), 4)}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}
// The last instant an event can have (9999-12-31T23:59:59.999Z): a later local time (the
// field's last day, west of UTC) is no instant the server can show (found from outside: its
// refusal was shown instead).
const lastEventMs = 253402300799999;
function fromLocalInput(v) {
    const t = new Date(v).getTime();
    return Number.isFinite(t) && t <= lastEventMs ? t : null;
}

function stateText(s) {
    return s && typeof s === "object" ? s : {};
}

export function mount(main, ctx) {
    let end = Date.now();
    let span = Number(windows[0][0]);
    let previous = null;  // key → item at the previous position
    let requestNo = 0;
    const windowSelect = h("select", { id: "tt-window" }, windows.map(([v, label]) => h("option", { value: v }, label)));
    const slider = h("input", { id: "tt-slider", type: "range", step: "1000" });
    const when = h("input", { id: "tt-when", type: "datetime-local", step: "1" });
    const summary = h("p", { id: "tt-summary", role: "status", "aria-live": "polite" });
    const removedBox = h("p", { id: "tt-removed" });
    const empty = h("div", {});
    const marks = new Map();  // key → "added" | "changed" | "removed" | ""
    const table = new VirtualTable({
        label: "Processes at the chosen instant",
        columns: [
            { key: "change", label: "Change", width: "7em", text: (r) => marks.get(r.key) ?? "" },
            { key: "key", label: "Key", width: "minmax(10em, 2fr)", text: (r) => show(r.key) },
            { key: "status", label: "Status", width: "7em", text: (r) => show(stateText(r.state).status) },
            { key: "host", label: "Host", width: "minmax(8em, 1fr)", text: (r) => show(stateText(r.state).host) },
            { key: "name", label: "Name", width: "minmax(6em, 1fr)", text: (r) => show(stateText(r.state).name) },
            { key: "seq", label: "Seq", width: "6em", text: (r) => show(r.seq) },
            { key: "ts", label: "State since", width: "14em", text: (r) => showTime(r.ts) },
        ],
        rowKey: (r) => r.key,
        rowClass: (r) => {
            const s = stateText(r.state).status;
            const m = marks.get(r.key);
            return `${typeof s === "string" && /^[a-z_-]{1,20}$/.test(s) ? `status-${s}` : ""}${m ? ` tt-${m}` : ""}`;
        },
        height: "50vh",
    });

    // "the whole history": from the topic's first event, asked of the gateway (one event
    // from `earliest`, then the subscription ends). Its ts bounds the slider; a late event
    // with an older ts is still reachable through the date-time field.
    const gw = ctx.gateway();
    let firstAsked = true;
    gw.subscribe(topic, {
        from: "earliest",
        batchSize: 1,
        onEvents: (evs) => {
            if (!firstAsked) return;
            firstAsked = false;
            gw.unsubscribe(topic);
            const first = evs[0].ts;
            windowSelect.appendChild(h("option", { value: "all", dataset: { first: String(first) } }, `whole history (since ${showTime(first)})`));
        },
    });

    const setRange = () => {
        slider.min = String(end - span);
        slider.max = String(end);
    };

    // What no longer belongs to the field's instant: shown while a read fails or the field
    // holds no instant, so that no earlier answer stands under a new label.
    const forget = (why) => {
        ++requestNo;
        inflight?.abort();
        askedT = null;
        previous = null;
        marks.clear();
        removedBox.textContent = "";
        fill(empty);
        table.setRows([]);
        summary.textContent = why;
    };

    let askedT = null;  // the instant last asked for (answered or not)
    let inflight = null;  // its read, aborted when another instant is asked for
    async function show_at(t, from) {
        // The same instant again (a field's change event after its input event): keep the
        // marks of the move that led here. Compared with the instant asked for, not the one
        // drawn: Home then End must read End again if Home's answer is still on its way.
        if (t === askedT) return;
        askedT = t;
        const no = ++requestNo;
        inflight?.abort();  // a drag asks for many instants; only the last one's answer counts
        inflight = new AbortController();
        if (from !== "slider") slider.value = String(Math.min(Math.max(t, end - span), end));
        if (from !== "field") when.value = toLocalInput(t);
        slider.setAttribute("aria-valuetext", showTime(t));
        summary.textContent = `loading ${showTime(t)}…`;
        let body;
        // No event is dated before 1970, so nothing had a state then: the empty state, not
        // the server's refusal of the instant (found from outside).
        if (t < 0) body = { items: [] };
        else try {
            ({ body } = await getJSON(`at/${enc(topic)}?t=${Math.round(t)}`, { signal: inflight.signal }));
        } catch (e) {
            if (no !== requestNo) return;
            forget(`Could not read the state at ${showTime(t)}: ${e.message}`);
            return;
        }
        if (no !== requestNo) return;  // a newer position was asked for meanwhile
        const now = new Map(body.items.map((i) => [i.key, i]));
        marks.clear();
        let added = 0, changed = 0;
        const removed = [];
        if (previous) {
            for (const [k, i] of now) {
                const old = previous.get(k);
                if (!old) { marks.set(k, "added"); ++added; }
                else if (old.seq !== i.seq) { marks.set(k, "changed"); ++changed; }
            }
            for (const k of previous.keys()) if (!now.has(k)) removed.push(k);
        }
        previous = now;
        main.dataset.t = String(Math.round(t));
        summary.textContent = `${showTime(t)}: ${body.items.length} processes` +
            (body.truncated ? " (only the first ones)" : "") +
            `; since the previous position: ${changed} changed, ${added} added, ${removed.length} without state`;
        removedBox.textContent = removed.length ? `Without a state at this instant: ${removed.slice(0, 50).join(", ")}${removed.length > 50 ? " …" : ""}` : "";
        fill(empty, body.items.length ? null : notice(`No process had a state at ${showTime(t)}: that is before the history of ${topic}, or outside it.`, "empty"));
        table.setRows(body.items);
    }

    slider.addEventListener("input", () => show_at(Number(slider.value), "slider"));
    when.addEventListener("change", () => {
        const t = fromLocalInput(when.value);
        if (t !== null) show_at(t, "field");
        else forget(when.value ? `${when.value} is not an instant this page can show.` : "Type a date and time, or move the slider.");
    });
    windowSelect.addEventListener("change", () => {
        const opt = windowSelect.selectedOptions[0];
        span = opt.value === "all" ? Math.max(1000, end - Number(opt.dataset.first)) : Number(opt.value);
        setRange();
        show_at(Number(slider.value), "");
    });
    const step = (ms) => show_at(Math.min(Number(slider.value) + ms, end), "");
    fill(main,
        h("h2", {}, "Time travel"),
        h("p", { class: "hint" }, `The processes as they were at any instant, from the history of ${topic}.`),
        h("div", { class: "tt-controls" },
            h("label", { for: "tt-window" }, "Range"), windowSelect,
            h("label", { for: "tt-slider" }, "Instant"), slider,
            h("label", { for: "tt-when" }, "Date and time"), when,
            h("button", { type: "button", onclick: () => step(-10000) }, "−10 s"),
            h("button", { type: "button", onclick: () => step(10000) }, "+10 s"),
            h("button", { type: "button", onclick: () => { end = Date.now(); setRange(); show_at(end, ""); } }, "Now")),
        summary, empty, removedBox, table.element);
    setRange();
    show_at(end, "");
    return () => {
        ++requestNo;
        inflight?.abort();
        if (firstAsked) gw.unsubscribe(topic);
    };
}
