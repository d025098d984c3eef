// A subscription over the WebSocket gateway (docs/ws-protocol.md) as an async iterator of
// deliveries. It owns its connection: close() (or leaving a `for await` loop) ends it.
//
// Reconnects: after a dropped connection it connects again with backoff and subscribes
// with the same group, and the server resumes at the group's durable cursor. With manual
// acks, every event not acknowledged before the drop comes again (at least once): the
// buffer of events not yet taken is dropped when the connection goes, they are among
// those, and an ack of a delivery from a connection that is gone resolves to false without
// being sent (the server refuses acks of what another connection received; the event comes
// again instead; so does one the server refuses because the group's lease passed on). With
// automatic acks the server has stored the cursor past every batch it wrote; what a group
// delivers again after a reconnect (a batch written as the connection dropped, a seek back)
// is delivered again here too: at least once. An ephemeral subscription (no group) has no cursor: on one topic it resumes right after the
// last event it saw, or before it saw any, right after where the server said it started
// (its `started` frame), so `latest` misses nothing; a pattern resumes the same way per
// topic (`from: {seqs}`), and a topic it never heard of starts at its first event.

import { backoffOf, delayFor, sleep, type Backoff } from './backoff.js';
import { ConflictError, NetworkError, ProtocolError, PromError, errorFromBody } from './errors.js';
import { AsyncQueue } from './async_queue.js';
import { idleTimeoutOf } from './idle.js';
import { openSocket, type GatewaySocket } from './socket.js';
import type { Delivery, Json, SubscribeOptions } from './types.js';

interface WireEvent {
    topic: string;
    key: string;
    id: string;
    seq: number;
    ts: number;
    payload: Json;
    headers?: Record<string, string>;
}

interface Pending {
    resolve: (stored: boolean) => void;
    reject: (e: unknown) => void;
}

export class Subscription<P = Json> implements AsyncIterable<Delivery<P>> {
    readonly topic: string;
    readonly group: string;
    private readonly options: SubscribeOptions;
    private readonly manualAck: boolean;
    private readonly highWaterMark: number;
    private readonly reconnectBackoff: Backoff | null;
    // How long a connection may stay quiet once open (SubscribeOptions.idleTimeoutMs).
    private readonly idleMs: number;
    private readonly queue = new AsyncQueue<Delivery<P>>();
    private readonly pending = new Map<string, Pending>();
    /** Ends a reconnect delay at once when the subscription is closed. */
    private readonly closing = new AbortController();
    private socket: GatewaySocket | undefined;
    /** Counts connections: a delivery can be acknowledged only on the one that brought it. */
    private connection = 0;
    private subscribed = false;
    /** The buffer reached highWaterMark (and has not drained to half of it since). */
    private overMark = false;
    /** Whether this connection's socket is paused (see updateReading). */
    private socketPaused = false;
    private closed = false;
    private requests = 0;
    /** Per topic, the highest seq handed to the queue; later connections skip up to it. */
    private readonly lastSeq = new Map<string, number>();
    private readonly readyPromise: Promise<void>;
    private settleReady!: { resolve: () => void; reject: (e: unknown) => void };

    /** `openTimeoutMs`: the client's timeoutMs, the limit from connecting to `subscribed` (0: none). */
    constructor(
        private readonly url: string,
        private readonly token: string | undefined,
        private readonly openTimeoutMs: number,
        topic: string,
        options: SubscribeOptions,
        backoff: Backoff,
    ) {
        this.idleMs = idleTimeoutOf(options.idleTimeoutMs);
        this.topic = topic;
        this.group = options.group ?? '';
        this.options = options;
        this.manualAck = options.manualAck === true && this.group !== '';
        this.highWaterMark = options.highWaterMark ?? 1000;
        if (!Number.isInteger(this.highWaterMark) || this.highWaterMark < 1) {
            throw new RangeError(`highWaterMark must be a whole number of deliveries >= 1, not ${options.highWaterMark}`);
        }
        const r = options.reconnect ?? true;
        this.reconnectBackoff =
            r === false ? null : r === true ? { ...backoff, attempts: Number.POSITIVE_INFINITY } : backoffOf(r, 'reconnect');
        this.readyPromise = new Promise<void>((resolve, reject) => {
            this.settleReady = { resolve, reject };
        });
        this.readyPromise.catch(() => {}); // the iterator reports the same error
        this.queue.onTake = () => {
            if (this.overMark && this.queue.length <= this.highWaterMark / 2) {
                this.overMark = false;
                this.updateReading();
            }
        };
        options.signal?.addEventListener('abort', () => this.close(), { once: true });
        if (options.signal?.aborted) this.close();
        void this.run();
    }

    /** Resolves once the server confirmed the subscription (the first time). */
    ready(): Promise<void> {
        return this.readyPromise;
    }

    /** True while subscribed on a live connection. */
    get connected(): boolean {
        return this.subscribed && this.socket?.open === true;
    }

    [Symbol.asyncIterator](): AsyncIterator<Delivery<P>> {
        return {
            next: () => this.queue.next(),
            return: async () => {
                this.close();
                return { value: undefined, done: true };
            },
        };
    }

    /**
     * Ends the subscription: closes the connection; the iterator finishes at once, and the
     * deliveries buffered but not taken are dropped.
     */
    close(): void {
        // Buffered deliveries are dropped, even after the subscription ended on its own: the
        // iterator finishes at once (found from outside: all 40 buffered were still yielded,
        // each ack() false). With manual acks, those not acknowledged come again later.
        this.queue.endNow();
        if (this.closed) return;
        this.closed = true;
        this.closing.abort();
        this.socket?.close(1000, 'closed by the client');
        this.settlePending(false);
        this.settleReady.reject(new NetworkError('the subscription was closed before the server confirmed it'));
    }

    /**
     * Acknowledges every event of the group up to `seq` in `topic` (manual ack; else nothing
     * to do). A pattern subscription's deliveries name their topic: use `delivery.ack()`.
     * True once the server stored the cursor; false when the connection dropped before (the
     * events come again after the reconnect: at least once). Throws the server's refusal.
     */
    async ack(seq: number, topic: string = this.topic): Promise<boolean> {
        return this.ackOn(this.connection, seq, topic);
    }

    private async ackOn(connection: number, seq: number, topic: string): Promise<boolean> {
        if (!this.manualAck) return true;
        const socket = this.socket;
        if (connection !== this.connection || !this.subscribed || socket === undefined || !socket.open) {
            return false;
        }
        try {
            return await this.request(socket, { op: 'ack', topic, group: this.group, seq });
        } catch (e) {
            // The group's lease passed to another consumer (a forced seek, or this client
            // paused past the lease): as after a drop, the event comes again to its holder.
            if (e instanceof ConflictError) return false;
            throw e;
        }
    }

    private async run(): Promise<void> {
        let failures = 0;
        while (!this.closed) {
            const outcome = await this.connectOnce();
            if (this.closed) return;
            if (outcome.fatal !== undefined) {
                this.finish(outcome.fatal);
                return;
            }
            if (outcome.wasSubscribed) failures = 0;
            ++failures;
            const b = this.reconnectBackoff;
            if (b === null || failures >= b.attempts) {
                this.finish(new NetworkError(`the gateway connection was lost: ${outcome.reason}`));
                return;
            }
            try {
                await sleep(delayFor(b, failures), this.closing.signal);
            } catch {
                return; // aborted: close() already ran
            }
        }
    }

    private finish(error: unknown): void {
        this.closed = true;
        this.settlePending(false);
        this.settleReady.reject(error);
        this.queue.fail(error);
    }

    /** One connection, from open to close; resolves when it is gone. */
    private connectOnce(): Promise<{ wasSubscribed: boolean; reason: string; fatal?: PromError }> {
        return new Promise((resolve) => {
            let wasSubscribed = false;
            let fatal: PromError | undefined;
            const subscribeId = this.nextId();
            const connection = ++this.connection;
            this.dropUnacknowledged();
            // From connecting to `subscribed` within openTimeoutMs, or the connection is
            // dropped and made again with the backoff: a gateway that accepts connections
            // and never answers must not hold the subscription for ever.
            let socket: GatewaySocket | undefined;
            let openLimitPassed = false;
            const openLimitReason = `no answer from the gateway within ${this.openTimeoutMs} ms`;
            const openTimer =
                this.openTimeoutMs > 0
                    ? setTimeout(() => {
                          openLimitPassed = true;
                          socket?.drop(openLimitReason);
                      }, this.openTimeoutMs)
                    : undefined;
            openSocket(this.url, this.token, {
                onOpen: () => {
                    this.send({
                        op: 'subscribe',
                        id: subscribeId,
                        topic: this.topic,
                        ...(this.group === '' ? {} : { group: this.group }),
                        from: this.resumeFrom(),
                        ...(this.options.batchSize === undefined ? {} : { batchSize: this.options.batchSize }),
                        manualAck: this.manualAck,
                    });
                },
                onMessage: (text) => {
                    let frame: { [k: string]: unknown };
                    try {
                        frame = JSON.parse(text) as { [k: string]: unknown };
                    } catch {
                        return;
                    }
                    if (frame['op'] === 'subscribed' && frame['id'] === subscribeId) {
                        clearTimeout(openTimer);
                        wasSubscribed = true;
                        this.subscribed = true;
                        this.settleReady.resolve();
                    } else if (frame['op'] === 'events') {
                        this.deliver(frame['events']);
                    } else if (frame['op'] === 'started') {
                        // Where an ephemeral subscription starts: the resume point until an
                        // event moves it (never backwards: a reconnect's own start is later).
                        const topic = frame['topic'];
                        const after = frame['after'];
                        if (typeof topic === 'string' && typeof after === 'number' && !this.manualAck) {
                            this.lastSeq.set(topic, Math.max(this.lastSeq.get(topic) ?? 0, after));
                        }
                    } else if (frame['op'] === 'error' && frame['id'] === subscribeId) {
                        // Refused (forbidden, bad_request, conflict…): reconnecting would not help.
                        fatal = errorFromBody(0, frame);
                        this.socket?.close(1000, 'subscription refused');
                    } else if (frame['op'] === 'error' && !frame['id'] && frame['error'] === 'too_many') {
                        // A pattern matched more topics than one connection may subscribe:
                        // some of them are not delivered, which the caller must hear about.
                        fatal = errorFromBody(0, frame);
                        this.socket?.close(1000, 'a pattern topic was left out');
                    } else {
                        this.settle(frame);
                    }
                },
                onRefused: (status, body) => {
                    // 4xx (no token, wrong version…): the same upgrade would be refused again.
                    // 5xx: the server is in trouble; try again later.
                    const e = errorFromBody(status, body);
                    if (status >= 400 && status < 500 && status !== 408 && status !== 429) fatal ??= e;
                },
                onClose: (code, reason) => {
                    clearTimeout(openTimer);
                    this.subscribed = false;
                    this.socket = undefined;
                    this.settlePending(false);
                    // Not handed out after the drop: they could no longer be acknowledged.
                    this.dropUnacknowledged();
                    resolve({ wasSubscribed, reason: `${code} ${reason}`.trim(), ...(fatal ? { fatal } : {}) });
                },
            }).then(
                (opened) => {
                    socket = opened;
                    if (this.closed || connection !== this.connection) {
                        opened.close(1000, 'closed by the client');
                        return;
                    }
                    if (openLimitPassed) {
                        opened.drop(openLimitReason);
                        return;
                    }
                    this.socket = opened;
                    this.socketPaused = false;
                    this.updateReading();
                    opened.keepAlive(this.idleMs);
                },
                (e) => {
                    clearTimeout(openTimer);
                    resolve({ wasSubscribed: false, reason: String(e), fatal: new ProtocolError(String(e)) });
                },
            );
        });
    }

    private resumeFrom(): 'earliest' | 'latest' | { seq: number } | { seqs: Record<string, number> } {
        const from = this.options.from ?? 'earliest';
        // A group resumes at its cursor whatever `from` says. An ephemeral subscription
        // resumes right after what it saw, so that `latest` loses nothing across a
        // reconnect: one topic by its seq, a pattern by a seq per topic it heard of (the
        // server starts topics it does not name, new to this client, at their first event).
        if (this.group !== '') return from;
        if (this.topic.endsWith('*')) {
            if (this.lastSeq.size === 0) return from;
            const seqs: Record<string, number> = {};
            for (const [topic, seen] of this.lastSeq) seqs[topic] = seen + 1;
            return { seqs };
        }
        const seen = this.lastSeq.get(this.topic);
        return seen === undefined ? from : { seq: seen + 1 };
    }

    private deliver(events: unknown): void {
        if (!Array.isArray(events)) return;
        for (const raw of events as WireEvent[]) {
            const seen = this.lastSeq.get(raw.topic) ?? 0;
            // Only an ephemeral subscription skips what it saw (it resumes after it). A group
            // delivers from its cursor, and what comes again there is what the group must
            // get: a seek back or a group removed and made again (found from outside: a
            // rewind during a reconnect was dropped here, and the server had acked it).
            if (this.group === '' && raw.seq <= seen) continue;
            this.lastSeq.set(raw.topic, Math.max(seen, raw.seq));
            const seq = raw.seq;
            const topic = raw.topic;
            const connection = this.connection;
            this.queue.push({
                topic: raw.topic,
                group: this.group,
                key: raw.key,
                id: raw.id,
                seq,
                ts: raw.ts,
                payload: raw.payload as P,
                headers: raw.headers ?? {},
                ack: () => this.ackOn(connection, seq, topic),
            });
        }
        if (!this.overMark && this.queue.length >= this.highWaterMark) {
            this.overMark = true;
            this.updateReading();
        }
    }

    /**
     * Reads the socket unless the buffer is over its mark. An ack's reply comes behind the
     * deliveries already sent, so while one is awaited the socket is read even over the
     * mark (the buffer grows by what was in flight); otherwise a loop that awaits its acks
     * would wait for ever.
     */
    private updateReading(): void {
        const pause = this.overMark && this.pending.size === 0;
        if (pause === this.socketPaused || this.socket === undefined) return;
        this.socketPaused = pause;
        if (pause) this.socket.pause();
        else this.socket.resume();
    }

    /** Manual acks: events not taken yet are dropped, since the server sends them again. */
    private dropUnacknowledged(): void {
        if (!this.manualAck) return;
        this.queue.clear();
        this.lastSeq.clear();
        if (this.overMark) {
            this.overMark = false;
            this.updateReading();
        }
    }

    private nextId(): string {
        return `c${++this.requests}`;
    }

    private send(frame: object): void {
        this.socket?.send(JSON.stringify(frame));
    }

    private request(socket: GatewaySocket, frame: { [k: string]: unknown }): Promise<boolean> {
        const id = this.nextId();
        return new Promise((resolve, reject) => {
            this.pending.set(id, { resolve, reject });
            this.updateReading();
            socket.send(JSON.stringify({ ...frame, id }));
        });
    }

    private settle(frame: { [k: string]: unknown }): void {
        const id = frame['id'];
        if (typeof id !== 'string') return;
        const p = this.pending.get(id);
        if (p === undefined) return;
        this.pending.delete(id);
        if (frame['op'] === 'error') p.reject(errorFromBody(0, frame));
        else p.resolve(true);
        this.updateReading();
    }

    /** Acks in flight when the connection goes: not stored (their events come again). */
    private settlePending(stored: boolean): void {
        for (const p of this.pending.values()) p.resolve(stored);
        this.pending.clear();
    }
}
