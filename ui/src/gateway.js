// The WebSocket gateway (GET /ws, docs/ws-protocol.md): ephemeral subscriptions to topics,
// so that the dashboard stores no cursor and leaves no consumer group behind.
//
// One connection per Gateway. It reconnects by itself (the server restarted, the network
// dropped) and resumes each subscription after the last seq it delivered (or, before any,
// after where the server said it started: the `started` frame): it asks for
// `from: {seq}` and, should the server not know that form, starts at `latest`; events it
// already delivered are dropped by seq either way, so a reconnect never shows one twice.
// A topic pattern ("order.*") is one subscription whose frames name each matching topic,
// with seqs of their own: it remembers the last seq per topic and resumes each topic after
// it (`from: {seqs}`); a topic it never heard of starts at its first event.
import { parseJSON, root, token, sleep } from "@ui/api.js";

export class Gateway {
    // onStatus(text, kind): "connected", "reconnecting", refused tokens.
    constructor({ onStatus = () => {} } = {}) {
        this.onStatus = onStatus;
        this.subs = new Map();  // topic or pattern → {from, onEvents, onError, seen, batchSize}
        this.abort = new AbortController();
        this.ws = null;
        this.nextId = 1;
        this.requests = new Map();  // subscribe id → topic, to route error frames
        this.run();
    }

    // onEvents(events) with each batch; `from`: "latest" | "earliest".
    subscribe(topic, { from = "latest", batchSize = 500, onEvents, onError = () => {} }) {
        // seen: topic → the last seq delivered of it (or where it started).
        const sub = { from, onEvents, onError, seen: new Map(), batchSize };
        this.subs.set(topic, sub);
        this.send(this.subscribeFrame(topic, sub));
    }

    unsubscribe(topic) {
        if (!this.subs.delete(topic)) return;
        this.send({ op: "unsubscribe", id: `u${this.nextId++}`, topic });
    }

    close() {
        this.abort.abort();
        this.ws?.close(1000);
    }

    subscribeFrame(topic, sub) {
        let from = sub.from;
        if (!topic.endsWith("*")) {
            if (sub.seen.has(topic)) from = { seq: sub.seen.get(topic) + 1 };
        } else if (sub.seen.size) {
            // A seq is a position in one topic: a pattern names one per topic.
            from = { seqs: Object.fromEntries([...sub.seen].map(([t, seq]) => [t, seq + 1])) };
        }
        const id = `s${this.nextId++}`;
        this.requests.set(id, topic);
        // Frames of an earlier subscription to this topic may still be on their way; this
        // one's events come after its `subscribed` reply (docs/ws-protocol.md).
        sub.ready = false;
        sub.requestId = id;
        return { op: "subscribe", id, topic, from, batchSize: sub.batchSize };
    }

    send(frame) {
        if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(frame));
    }

    async run() {
        const signal = this.abort.signal;
        let backoff = 500;
        while (!signal.aborted) {
            const opened = await this.connectOnce(signal);
            if (signal.aborted) return;
            if (opened) backoff = 500;
            this.onStatus("gateway: reconnecting", "warn");
            await sleep(backoff, signal);
            backoff = Math.min(backoff * 2, 8000);
        }
    }

    // Resolves when the connection closes; true if it had opened.
    connectOnce(signal) {
        return new Promise((resolve) => {
            const u = new URL("ws", root);
            u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
            if (token()) u.searchParams.set("token", token());
            let opened = false;
            const ws = new WebSocket(u);
            this.ws = ws;
            const onAbort = () => ws.close(1000);
            signal.addEventListener("abort", onAbort, { once: true });
            ws.onopen = () => {
                opened = true;
                this.onStatus("gateway: connected", "ok");
                for (const [topic, sub] of this.subs) ws.send(JSON.stringify(this.subscribeFrame(topic, sub)));
            };
            ws.onmessage = (m) => this.receive(m.data);
            ws.onclose = () => {
                signal.removeEventListener("abort", onAbort);
                if (!opened && !signal.aborted) {
                    // A refused upgrade (401 for a wrong token) shows only as a close.
                    window.dispatchEvent(new CustomEvent("prom:gateway-refused"));
                }
                resolve(opened);
            };
            ws.onerror = () => {};  // onclose follows
        });
    }

    // The subscription a frame of `topic` belongs to: its own, or a pattern matching it.
    subFor(topic) {
        if (typeof topic !== "string") return undefined;
        const own = this.subs.get(topic);
        if (own) return own;
        for (const [name, sub] of this.subs) {
            if (name.endsWith("*") && topic.startsWith(name.slice(0, -1))) return sub;
        }
        return undefined;
    }

    receive(text) {
        let f;
        try {
            f = parseJSON(text);
        } catch {
            return;
        }
        const sub = this.subFor(f.topic);
        if (f.op === "events" && sub && sub.ready) {
            const last = sub.seen.get(f.topic);
            const fresh = f.events.filter((e) => last === undefined || e.seq > last);
            if (f.events.length) {
                const newest = f.events.reduce((a, e) => (e.seq > a.seq ? e : a));
                if (last === undefined || newest.seq > last) sub.seen.set(f.topic, newest.seq);
            }
            if (fresh.length) sub.onEvents(fresh);
        } else if (f.op === "started" && sub && sub.ready && typeof f.after === "number") {
            // Where this (ephemeral) subscription starts: a reconnect before any event
            // resumes from there, so `latest` misses nothing published meanwhile.
            if ((sub.seen.get(f.topic) ?? -1) < f.after) sub.seen.set(f.topic, f.after);
        } else if (f.op === "subscribed") {
            this.requests.delete(f.id);
            if (sub && sub.requestId === f.id) sub.ready = true;
        } else if (f.op === "error" && f.error === "too_many" && !this.requests.has(f.id)) {
            // A pattern, answered already, reached the connection's 64 subscriptions: some of
            // its topics are not delivered. The frame carries the pattern's request id (a
            // server before that named none: then every pattern hears of it).
            for (const [name, s] of this.subs) {
                if (name.endsWith("*") && (!f.id || s.requestId === f.id)) s.onError(f);
            }
        } else if (f.op === "error") {
            const topic = this.requests.get(f.id);
            this.requests.delete(f.id);
            const s = topic === undefined ? undefined : this.subs.get(topic);
            if (s) s.onError(f);
        }
    }
}
