// Processes: every document of `processes`, live, filterable and sortable; a process that
// turns stale is highlighted on the next frame (docs/dashboard.md).
import { ago, fill, h, notice, show, showTime } from "@ui/dom.js";
import { VirtualTable } from "@ui/vtable.js";

export const columns = [
    { key: "status", label: "Status", width: "7em", text: (d) => show(d.status) },
    { key: "host", label: "Host", width: "minmax(8em, 1fr)", text: (d) => show(d.host) },
    { key: "name", label: "Name", width: "minmax(8em, 1fr)", text: (d) => show(d.name) },
    { key: "pid", label: "PID", width: "6em", text: (d) => show(d.pid) },
    { key: "cpu_pct", label: "CPU %", width: "6em", text: (d) => (typeof d.cpu_pct === "number" ? d.cpu_pct.toFixed(1) : show(d.cpu_pct)) },
    { key: "mem_mb", label: "Memory MB", width: "8em", text: (d) => show(d.mem_mb) },
    { key: "last_seen", label: "Last seen", width: "10em", text: (d) => (typeof d.last_seen === "number" ? ago(d.last_seen) : show(d.last_seen)), title: (d) => showTime(d.last_seen) },
    { key: "_key", label: "Key", width: "minmax(10em, 2fr)", text: (d) => show(d._key) },
];

export function statusClass(d) {
    const s = typeof d.status === "string" ? d.status : "";
    return /^[a-z_-]{1,20}$/.test(s) ? `status-${s}` : "status-other";
}

// One collator for every comparison: String.localeCompare builds one per call, which made
// sorting 10,000 rows cost tens of milliseconds a frame.
const collator = new Intl.Collator(undefined, { numeric: true });

function compare(a, b) {
    if (a === b) return 0;
    if (a === undefined || a === null) return 1;
    if (b === undefined || b === null) return -1;
    if (typeof a === "number" && typeof b === "number") return a - b;
    return collator.compare(String(a), String(b));
}

// Filters and sorts documents as the controls say.
export function select(docs, { host = "", name = "", status = "", sortKey = "status", sortDir = -1 }) {
    const hostQ = host.toLowerCase(), nameQ = name.toLowerCase();
    const rows = [];
    for (const d of docs) {
        if (hostQ && !String(d.host ?? "").toLowerCase().includes(hostQ)) continue;
        if (nameQ && !String(d.name ?? "").toLowerCase().includes(nameQ) && !String(d._key).toLowerCase().includes(nameQ)) continue;
        if (status && d.status !== status) continue;
        rows.push(d);
    }
    rows.sort((a, b) => sortDir * compare(a[sortKey], b[sortKey]) || compare(a._key, b._key));
    return rows;
}

export function mount(main, ctx) {
    const state = { host: "", name: "", status: "", sortKey: "status", sortDir: -1 };
    const summary = h("p", { id: "proc-summary", role: "status", "aria-live": "polite" }, "loading…");
    const statusSelect = h("select", { id: "f-status" },
        h("option", { value: "" }, "any"), h("option", { value: "alive" }, "alive"),
        h("option", { value: "stale" }, "stale"), h("option", { value: "exited" }, "exited"));
    const hostInput = h("input", { id: "f-host", type: "search", autocomplete: "off" });
    const nameInput = h("input", { id: "f-name", type: "search", autocomplete: "off" });
    const table = new VirtualTable({
        label: "Processes",
        columns,
        rowKey: (d) => d._key,
        rowClass: statusClass,
        onSort: (key) => {
            state.sortDir = state.sortKey === key ? -state.sortDir : 1;
            state.sortKey = key;
            table.setSort(state.sortKey, state.sortDir);
            refresh([]);
        },
    });
    table.setSort(state.sortKey, state.sortDir);
    let pendingChanged = new Set();
    let frame = 0;
    const refresh = (changed) => {
        for (const k of changed) pendingChanged.add(k);
        if (frame) return;
        // Many changes in one frame cost one filter and sort.
        frame = requestAnimationFrame(() => {
            frame = 0;
            const docs = [...ctx.collection("processes").docs.values()];
            const rows = select(docs, state);
            const stale = docs.filter((d) => d.status === "stale").length;
            const refused = ctx.collection("processes").refused;
            summary.textContent = refused
                ? `Cannot show processes: ${refused}`
                : `${docs.length} processes, ${stale} stale; showing ${rows.length}`;
            table.setRows(rows, pendingChanged);
            pendingChanged = new Set();
        });
    };
    const onInput = () => {
        state.host = hostInput.value;
        state.name = nameInput.value;
        state.status = statusSelect.value;
        refresh([]);
    };
    for (const el of [hostInput, nameInput, statusSelect]) el.addEventListener("input", onInput);
    fill(main,
        h("h2", {}, "Processes"),
        h("form", { class: "filters", role: "search", "aria-label": "Filter processes", onsubmit: (e) => e.preventDefault() },
            h("label", { for: "f-host" }, "Host"), hostInput,
            h("label", { for: "f-name" }, "Name or key"), nameInput,
            h("label", { for: "f-status" }, "Status"), statusSelect),
        summary,
        table.element);
    const off = ctx.watch("processes", (changed) => refresh(changed));
    refresh([]);
    // "Last seen" is relative to now: redrawn while nothing changes too, so that a quiet
    // process does not look fresh until it turns stale.
    const clock = setInterval(() => refresh([]), 5000);
    return () => {
        off();
        clearInterval(clock);
        cancelAnimationFrame(frame);
    };
}

export { notice };
