// DOM helpers. Everything that comes from the server is put on the page as text
// (textContent, attribute values), never parsed as HTML: documents may hold any string.

// h("td", {class: "x", "aria-label": "…"}, child, "text", …) → element. Children that are
// strings become text nodes; null and false are skipped.
export function h(tag, attrs = {}, ...children) {
    const el = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs ?? {})) {
        if (value === null || value === undefined || value === false) continue;
        if (name.startsWith("on") && typeof value === "function") {
            el.addEventListener(name.slice(2), value);
        } else if (name === "dataset") {
            Object.assign(el.dataset, value);
        } else {
            el.setAttribute(name, value === true ? "" : String(value));
        }
    }
    append(el, children);
    return el;
}

function append(el, children) {
    for (const c of children) {
        if (c === null || c === undefined || c === false) continue;
        if (Array.isArray(c)) append(el, c);
        else if (c instanceof Node) el.appendChild(c);
        else el.appendChild(document.createTextNode(String(c)));
    }
}

export function clear(el) {
    while (el.firstChild) el.removeChild(el.firstChild);
}

// Replaces the children of `el`.
export function fill(el, ...children) {
    clear(el);
    append(el, children);
    return el;
}

// A value of a document as a short line of text. Integers beyond 2^53 parsed exactly
// (api.js parseJSON: BigInt) are written back as the digits the server sent.
export function show(v) {
    if (v === undefined || v === null) return "";
    if (typeof v === "object") return showJSON(v);
    return String(v);
}

// JSON.stringify that writes a BigInt as its digits (JSON.rawJSON, where the browser has it).
export function showJSON(v, indent) {
    return JSON.stringify(v, (_, x) => typeof x === "bigint" ? (JSON.rawJSON ? JSON.rawJSON(x.toString()) : x.toString()) : x, indent);
}

// Epoch ms that a Date can hold (±8.64e15 ms, about ±275,000 years).
function dateTime(ms) {
    if (typeof ms !== "number" || !Number.isFinite(ms)) return null;
    const d = new Date(ms);
    return Number.isNaN(d.getTime()) ? null : d;
}

// Epoch ms → "2026-12-02 05:10:22.123 UTC"-like local text, and the ISO form for titles.
export function showTime(ms) {
    const d = dateTime(ms);
    if (!d) return typeof ms === "number" ? `${ms} (not a date)` : "";
    const pad = (n, w = 2) => String(n).padStart(w, "0");
    return `${pad(d.getFullYear(), 4)}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
        `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function ago(ms, now = Date.now()) {
    if (!dateTime(ms)) return "";
    const s = Math.max(0, Math.round((now - ms) / 1000));
    if (s < 60) return `${s} s ago`;
    if (s < 3600) return `${Math.floor(s / 60)} min ago`;
    return `${Math.floor(s / 3600)} h ago`;
}

// A message in place of data: loading, empty, not available, refused.
export function notice(text, kind = "info") {
    return h("p", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" }, text);
}
