// A collection kept up to date in the page: every document, pushed by the server through
// the collection's Server-Sent Events watch (GET /collections/{c}/watch, docs/watches.md),
// read with fetch rather than EventSource so that the token goes in a header; a reconnect
// sends Last-Event-ID and so misses nothing. Nothing polls on a timer: without changes
// nothing is read.
import { ApiError, authHeaders, enc, errorOf, getJSON, parseJSON, sleep, url } from "@ui/api.js";
import { showJSON } from "@ui/dom.js";

const pageSize = 1000;
// Passes over the list after a first load that changes overlapped (see fillGaps).
const maxGapPasses = 3;

export class LiveCollection {
    // onChange(changedKeys: Set<string>, removedKeys: Set<string>) after each batch of
    // changes; onStatus(text, kind) when the connection changes ("live", "reconnecting", …).
    constructor(collection, { onChange = () => {}, onStatus = () => {} } = {}) {
        this.collection = collection;
        this.docs = new Map();  // key → document
        this.onChange = onChange;
        this.onStatus = onStatus;
        this.abort = new AbortController();
        this.lastEventId = null;
        // Why the server refuses this collection to the token (401/403), for the page to say
        // where its rows would be; "" while it is served.
        this.refused = "";
    }

    start() {
        this.run().catch((e) => {
            if (!this.abort.signal.aborted) this.onStatus(`stopped: ${e.message}`, "error");
        });
        return this;
    }

    stop() {
        this.abort.abort();
    }

    async run() {
        const signal = this.abort.signal;
        let backoff = 500;
        while (!signal.aborted) {
            try {
                await this.watch(signal);
                backoff = 500;
            } catch (e) {
                if (signal.aborted) return;
                if (e instanceof ApiError && (e.status === 401 || e.status === 403)) {
                    this.onStatus(e.message, "error");
                    this.refused = e.message;
                    this.onChange(new Set(), new Set());  // the page redraws and says so
                    // Wait for a new token before trying again.
                    await new Promise((resolve) => {
                        window.addEventListener("prom:token", resolve, { once: true });
                        signal.addEventListener("abort", resolve, { once: true });
                    });
                    this.refused = "";
                    continue;
                }
                this.onStatus(`reconnecting (${e.message})`, "warn");
                await sleep(backoff, signal);
                backoff = Math.min(backoff * 2, 8000);
            }
        }
    }

    // Every document of the list, page by page: onPage(items) per page. A page over the
    // server's answer limit (413: large documents) is asked for again with half the limit,
    // as docs/http-api.md says to.
    async readList(signal, onPage) {
        let limit = pageSize;
        for (let offset = 0; ;) {
            let body;
            try {
                ({ body } = await getJSON(
                    `collections/${enc(this.collection)}/list?offset=${offset}&limit=${limit}`, { signal }));
            } catch (e) {
                if (!(e instanceof ApiError && e.status === 413) || limit === 1) throw e;
                limit = Math.max(1, Math.floor(limit / 2));
                continue;
            }
            onPage(body.items);
            if (body.items.length < limit) return;
            offset += body.items.length;
        }
    }

    // Every document, page by page; replaces what the page had (also after a restart of
    // the server, whose documents may have changed meanwhile). On the first load each page
    // is shown as it arrives, so the first rows appear after one request, not ten.
    async loadAll(signal) {
        const first = this.docs.size === 0;
        const fresh = new Map();
        // A document written while the later pages are read may move past them; the watch,
        // opened before this read, streams it anyway (and fillGaps finds what moved the
        // other way).
        await this.readList(signal, (items) => {
            const added = new Set();
            for (const d of items) {
                fresh.set(d._key, d);
                if (first) {
                    this.docs.set(d._key, d);
                    added.add(d._key);
                }
            }
            if (first && added.size) this.onChange(added, new Set());
        });
        if (first) return;
        const changed = new Set();
        const removed = new Set();
        for (const [k, d] of fresh) {
            const old = this.docs.get(k);
            if (!old || !sameVersion(old, d)) changed.add(k);
        }
        for (const k of this.docs.keys()) if (!fresh.has(k)) removed.add(k);
        this.docs = fresh;
        if (changed.size || removed.size) this.onChange(changed, removed);
    }

    // The list is paged by offset, newest first: a document written with an older `_ts`, or
    // deleted, while the pages are read moves the documents behind it one place up, and the
    // one that crosses into a page already read is missed — unchanged, the watch never sends
    // it. So after a load that changes overlapped, the list is read again and what is
    // missing is added; documents the stream touched since it opened are left to it (a page
    // read before a deletion must not bring the document back).
    async fillGaps(signal, changedDuringLoad) {
        for (let pass = 0; changedDuringLoad() && pass < maxGapPasses; ++pass) {
            const added = new Set();
            await this.readList(signal, (items) => {
                for (const d of items) {
                    if (this.docs.has(d._key) || this.touched.has(d._key)) continue;
                    this.docs.set(d._key, d);
                    added.add(d._key);
                }
            });
            if (added.size) this.onChange(added, new Set());
        }
        this.touched = null;
    }

    // The SSE watch: runs until the stream ends (then the caller reconnects) or throws.
    async watch(signal) {
        const headers = authHeaders({ Accept: "text/event-stream" });
        if (this.lastEventId !== null) headers["Last-Event-ID"] = this.lastEventId;
        const res = await fetch(url(`collections/${enc(this.collection)}/watch?prefix=`), { headers, signal, cache: "no-store" });
        if (res.status === 400 && this.lastEventId !== null) {
            this.lastEventId = null;  // too old to resume: start over with a full read
            throw new ApiError(400, "bad_request", "watch position lost; reloading");
        }
        if (!res.ok) throw await errorOf(res);
        // Start the stream first, then read the list: changes in between arrive on it.
        const first = this.lastEventId === null;
        // Keys the stream changes from now until fillGaps is done: the stream's word on them
        // stands over any page of the list.
        this.touched = first ? new Set() : null;
        const pending = [];
        let loaded = !first;
        let changes = 0;  // changes seen on the stream, to know whether a list read overlapped one
        const apply = (ev) => this.applyWatchEvent(ev);
        const loading = first ? this.loadAll(signal).then(async () => {
            loaded = true;
            let seen = 0;
            for (const ev of pending.splice(0)) apply(ev);
            await this.fillGaps(signal, () => {
                const overlapped = changes !== seen;
                seen = changes;
                return overlapped;
            });
        }) : Promise.resolve();
        this.onStatus("live (watch)", "ok");
        await Promise.all([loading, readEvents(res.body, (ev) => {
            if (ev.id !== undefined) this.lastEventId = ev.id;
            if (ev.data === "") return;
            ++changes;
            if (loaded) apply(ev);
            else pending.push(ev);
        }, signal)]);
        throw new Error("the watch ended");
    }

    // One change (docs/watches.md): {collection, key, seq, ts, body, etag} or, for a
    // deletion, {collection, key, seq, ts, deleted: true}.
    applyWatchEvent(ev) {
        let data;
        try {
            data = parseJSON(ev.data);
        } catch {
            return;
        }
        if (!data || typeof data !== "object" || typeof data.key !== "string") return;
        const key = data.key;
        this.touched?.add(key);
        if (data.deleted) {
            if (this.docs.delete(key)) this.onChange(new Set(), new Set([key]));
            return;
        }
        if (data.body && typeof data.body === "object") {
            this.docs.set(key, { ...data.body, _key: data.body._key ?? key });
            this.onChange(new Set([key]), new Set());
        }
    }
}

// Every write sets a document's _ts; the same _ts and body is the same version. (The body
// is compared only when the _ts is equal, which is rare.)
function sameVersion(a, b) {
    return a._ts === b._ts && showJSON(a) === showJSON(b);
}

// Parses a text/event-stream body: onEvent({event, data, id}) per event.
async function readEvents(body, onEvent, signal) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    signal.addEventListener("abort", () => reader.cancel().catch(() => {}), { once: true });
    let buf = "";
    let ev = { data: [] };
    for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buf += value;
        let nl;
        while ((nl = buf.search(/\r\n|\r|\n/)) >= 0) {
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + (buf.startsWith("\r\n", nl) ? 2 : 1));
            if (line === "") {
                // An `id:` without data still moves the position (the watch's first lines).
                if (ev.data.length || ev.id !== undefined) onEvent({ event: ev.event ?? "message", data: ev.data.join("\n"), id: ev.id });
                ev = { data: [] };
                continue;
            }
            if (line.startsWith(":")) continue;
            const colon = line.indexOf(":");
            const field = colon < 0 ? line : line.slice(0, colon);
            let value = colon < 0 ? "" : line.slice(colon + 1);
            if (value.startsWith(" ")) value = value.slice(1);
            if (field === "data") ev.data.push(value);
            else if (field === "event") ev.event = value;
            else if (field === "id") ev.id = value;
        }
    }
}
