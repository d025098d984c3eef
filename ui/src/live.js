// A collection kept up to date in the page: every document, pushed by the server.
//
// First choice, the collection's Server-Sent Events watch (GET /collections/{c}/watch,
// docs/http-api.md), read with fetch rather than EventSource so that the token goes in a
// header; a reconnect sends Last-Event-ID and so misses nothing. A server without watches
// (404) is followed by long-polling the newest list entry instead (If-None-Match with
// `Prefer: wait`, docs/http-api.md): the list is ordered newest `_ts` first, so its first
// entry changes with every write, and after each change only the pages newer than what
// the page has are read again. Either way nothing polls on a timer.
import { ApiError, authHeaders, enc, errorOf, getJSON, sleep, url } from "@ui/api.js";

const pageSize = 1000;
const waitSeconds = 25;

export class LiveCollection {
    // onChange(changedKeys: Set<string>, removedKeys: Set<string>) after each batch of
    // changes; onStatus(text, kind) when the connection changes ("live", "reconnecting", …).
    constructor(collection, { onChange = () => {}, onStatus = () => {} } = {}) {
        this.collection = collection;
        this.docs = new Map();  // key → document
        this.onChange = onChange;
        this.onStatus = onStatus;
        this.mode = "";
        this.abort = new AbortController();
        this.lastEventId = null;
        this.newestTs = -Infinity;
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
                if (this.mode !== "long-poll") {
                    const watched = await this.watch(signal);
                    if (watched === "absent") this.mode = "long-poll";
                }
                if (this.mode === "long-poll") await this.longPoll(signal);
                backoff = 500;
            } catch (e) {
                if (signal.aborted) return;
                if (e instanceof ApiError && (e.status === 401 || e.status === 403)) {
                    this.onStatus(e.message, "error");
                    // Wait for a new token before trying again.
                    await new Promise((resolve) => {
                        window.addEventListener("prom:token", resolve, { once: true });
                        signal.addEventListener("abort", resolve, { once: true });
                    });
                    continue;
                }
                this.onStatus(`reconnecting (${e.message})`, "warn");
                await sleep(backoff, signal);
                backoff = Math.min(backoff * 2, 8000);
            }
        }
    }

    // Every document, page by page; replaces what the page had (also after a restart of
    // the server, whose documents may have changed meanwhile). On the first load each page
    // is shown as it arrives, so the first rows appear after one request, not ten.
    async loadAll(signal) {
        const first = this.docs.size === 0;
        const fresh = new Map();
        let newest = -Infinity;
        for (let offset = 0; ; offset += pageSize) {
            const { body } = await getJSON(
                `collections/${enc(this.collection)}/list?offset=${offset}&limit=${pageSize}`, { signal });
            const added = new Set();
            for (const d of body.items) {
                fresh.set(d._key, d);
                newest = Math.max(newest, d._ts ?? -Infinity);
                if (first) {
                    this.docs.set(d._key, d);
                    added.add(d._key);
                }
            }
            if (first && added.size) this.onChange(added, new Set());
            if (body.items.length < pageSize) break;
        }
        this.newestTs = newest;
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

    // The SSE watch. Returns "absent" when the server has no such route; otherwise runs
    // until the stream ends (then the caller reconnects) or throws.
    async watch(signal) {
        const headers = authHeaders({ Accept: "text/event-stream" });
        if (this.lastEventId !== null) headers["Last-Event-ID"] = this.lastEventId;
        const res = await fetch(url(`collections/${enc(this.collection)}/watch?prefix=`), { headers, signal, cache: "no-store" });
        if (res.status === 404 || res.status === 405) {
            const e = await errorOf(res);
            // An unknown collection is a 404 too; "no route" means no watches on this server.
            if (e.code === "not_found" && /no route/.test(e.message)) return "absent";
            if (res.status === 405) return "absent";
            throw e;
        }
        if (res.status === 400 && this.lastEventId !== null) {
            this.lastEventId = null;  // too old to resume: start over with a full read
            throw new ApiError(400, "bad_request", "watch position lost; reloading");
        }
        if (!res.ok) throw await errorOf(res);
        // Start the stream first, then read the list: changes in between arrive on it.
        const first = this.lastEventId === null;
        const pending = [];
        let loaded = !first;
        const apply = (ev) => this.applyWatchEvent(ev);
        this.mode = "watch";
        const loading = first ? this.loadAll(signal).then(() => {
            loaded = true;
            for (const ev of pending.splice(0)) apply(ev);
        }) : Promise.resolve();
        this.onStatus("live (watch)", "ok");
        await Promise.all([loading, readEvents(res.body, (ev) => {
            if (ev.id !== undefined) this.lastEventId = ev.id;
            if (ev.data === "") return;
            if (loaded) apply(ev);
            else pending.push(ev);
        }, signal)]);
        throw new Error("the watch ended");
    }

    applyWatchEvent(ev) {
        let data;
        try {
            data = JSON.parse(ev.data);
        } catch {
            return;  // a comment or keep-alive
        }
        if (!data || typeof data !== "object") return;
        const key = data.key ?? data._key ?? data.doc?._key;
        if (typeof key !== "string") return;
        const doc = data.doc ?? data.body ?? data.document;
        if (ev.event === "delete" || data.deleted || doc === null) {
            if (this.docs.delete(key)) this.onChange(new Set(), new Set([key]));
            return;
        }
        if (doc && typeof doc === "object") {
            this.docs.set(key, { ...doc, _key: doc._key ?? key });
            this.onChange(new Set([key]), new Set());
        }
    }

    // Fallback: hold a request on the newest list entry; on a change, read the pages newer
    // than the newest document the page has.
    async longPoll(signal) {
        await this.loadAll(signal);
        this.onStatus("live (long-poll)", "ok");
        let etag = (await getJSON(`collections/${enc(this.collection)}/list?limit=1`, { signal })).etag;
        while (!signal.aborted) {
            const r = await getJSON(`collections/${enc(this.collection)}/list?limit=1`, {
                signal, headers: { "If-None-Match": etag ?? "*", Prefer: `wait=${waitSeconds}` },
            });
            if (r.status === 304) continue;
            etag = r.etag;
            await this.readNewer(signal);
        }
    }

    async readNewer(signal) {
        const changed = new Set();
        const since = this.newestTs;
        outer: for (let offset = 0; ; offset += pageSize) {
            const { body } = await getJSON(
                `collections/${enc(this.collection)}/list?offset=${offset}&limit=${pageSize}`, { signal });
            for (const d of body.items) {
                // Equal _ts too: a write in the same millisecond as the newest one we had.
                if ((d._ts ?? 0) < since) break outer;
                const old = this.docs.get(d._key);
                if (!old || !sameVersion(old, d)) changed.add(d._key);
                this.docs.set(d._key, d);
                this.newestTs = Math.max(this.newestTs, d._ts ?? 0);
            }
            if (body.items.length < pageSize) break;
        }
        if (changed.size) this.onChange(changed, new Set());
    }
}

// Every write sets a document's _ts; the same _ts and body is the same version. (The body
// is compared only when the _ts is equal, which is rare.)
function sameVersion(a, b) {
    return a._ts === b._ts && JSON.stringify(a) === JSON.stringify(b);
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
