// A watch of documents (Server-Sent Events, `GET /collections/{c}/watch?key=|prefix=`,
// docs/http-api.md) as an async iterator of changes. Each event's `id:` is the collection's
// change sequence: after a dropped stream the watch reconnects with `Last-Event-ID` set to
// the last id it handed out, and the server replays exactly the changes after it.
// It owns its stream: close() (or leaving a `for await` loop) ends it.

import { backoffOf, delayFor, sleep, type Backoff } from './backoff.js';
import { AsyncQueue } from './async_queue.js';
import { NetworkError, PromError, TimeoutError, errorFromBody } from './errors.js';
import { Deadline, describe, type HttpTransport } from './http.js';
import { idleTimeoutOf } from './idle.js';
import { segment, withQuery } from './query.js';
import { SseParser, type SseEvent } from './sse.js';
import type { Json, WatchChange, WatchOptions, WatchSelector } from './types.js';

/** How one stream went: accepted, the server's `retry:` delay, and why it ended. */
interface StreamOutcome {
    accepted: boolean;
    retryMs: number | undefined;
    ended: string;
}

export class Watch<D = { [key: string]: Json }> implements AsyncIterable<WatchChange<D>> {
    readonly collection: string;
    private readonly queue = new AsyncQueue<WatchChange<D>>();
    private readonly abort = new AbortController();
    private readonly reconnectBackoff: Backoff | null;
    // How long an open stream may stay quiet (WatchOptions.idleTimeoutMs); 0: for ever.
    private readonly idleMs: number;
    private closed = false;
    // Where a reconnect resumes: the last id read from the stream. Changes read but not yet
    // taken stay queued across a reconnect, so this runs ahead of what the caller has seen.
    private streamId: string | undefined;
    // What `lastEventId` answers: the id of the last change taken from the iterator, or
    // where the watch started before any (found from outside: it answered `streamId`, and a
    // watch resumed from it skipped the changes still buffered).
    private handedId: string | undefined;
    private readonly readyPromise: Promise<void>;
    private settleReady!: { resolve: () => void; reject: (e: unknown) => void };

    constructor(
        private readonly http: HttpTransport,
        collection: string,
        private readonly selector: WatchSelector,
        options: WatchOptions,
        backoff: Backoff,
    ) {
        this.idleMs = idleTimeoutOf(options.idleTimeoutMs);
        this.collection = collection;
        this.streamId = options.lastEventId;
        this.handedId = options.lastEventId;
        const r = options.reconnect ?? true;
        this.reconnectBackoff =
            r === false ? null : r === true ? { ...backoff, attempts: Number.POSITIVE_INFINITY } : backoffOf(r, 'reconnect');
        this.readyPromise = new Promise<void>((resolve, reject) => {
            this.settleReady = { resolve, reject };
        });
        this.readyPromise.catch(() => {});
        options.signal?.addEventListener('abort', () => this.close(), { once: true });
        if (options.signal?.aborted) this.close();
        void this.run();
    }

    /** Resolves once the server accepted the watch and said where it starts (the first time). */
    ready(): Promise<void> {
        return this.readyPromise;
    }

    /**
     * The id of the last change handed out (before any, where the watch started): pass it
     * as `lastEventId` to resume later with the change after it.
     */
    get lastEventId(): string | undefined {
        return this.handedId;
    }

    [Symbol.asyncIterator](): AsyncIterator<WatchChange<D>> {
        return {
            next: async () => {
                const r = await this.queue.next();
                if (r.done !== true && r.value.id !== '') this.handedId = r.value.id;
                return r;
            },
            return: async () => {
                this.close();
                return { value: undefined, done: true };
            },
        };
    }

    /**
     * Ends the watch: closes the stream; the iterator finishes at once, and the changes
     * buffered but not taken are dropped (`lastEventId` resumes a later watch before them).
     */
    close(): void {
        // Found from outside: the buffered changes were still yielded after close().
        this.queue.endNow();
        if (this.closed) return;
        this.closed = true;
        this.abort.abort();
        this.settleReady.reject(new NetworkError('the watch was closed before the server accepted it'));
    }

    private async run(): Promise<void> {
        let failures = 0;
        let retryMs: number | undefined;
        while (!this.closed) {
            let streamed = false;
            // Why this stream ended, for the error when the watch gives up (found from
            // outside: it said only "the watch stream was lost", never why).
            let lost: { reason: string; cause?: unknown };
            try {
                const outcome = await this.streamOnce();
                streamed = outcome.accepted;
                retryMs = outcome.retryMs ?? retryMs;
                lost = { reason: outcome.ended };
            } catch (e) {
                if (this.closed) return;
                // The server refused the watch (unknown collection, bad id, no permission):
                // the same request would be refused again.
                if (e instanceof PromError && !(e instanceof NetworkError) && e.code !== 'unavailable') {
                    this.fail(e);
                    return;
                }
                // Not the server's (a bug, a missing fetch): trying again would not help either.
                // A 503 `unavailable` is tried again like a lost connection (found from outside:
                // this test was `instanceof NetworkError`, so a busy server ended the watch).
                if (!(e instanceof PromError)) {
                    this.fail(e);
                    return;
                }
                streamed = false;
                lost = { reason: e.message, cause: e };
            }
            if (this.closed) return;
            if (streamed) failures = 0;
            ++failures;
            const b = this.reconnectBackoff;
            if (b === null || failures >= b.attempts) {
                this.fail(new NetworkError(`the watch stream was lost: ${lost.reason}`, lost.cause));
                return;
            }
            try {
                await sleep(retryMs ?? delayFor(b, failures), this.abort.signal);
            } catch {
                return;
            }
        }
    }

    private fail(e: unknown): void {
        this.closed = true;
        this.settleReady.reject(e);
        this.queue.fail(e);
    }

    /** One stream, from the request to its end; throws what refused or broke it. */
    private async streamOnce(): Promise<StreamOutcome> {
        const params = new URLSearchParams();
        if (this.selector.key !== undefined) params.set('key', this.selector.key);
        else if (this.selector.prefix !== undefined) params.set('prefix', this.selector.prefix);
        const path = withQuery(`/collections/${segment(this.collection)}/watch`, params);
        const headers: Record<string, string> = { accept: 'text/event-stream' };
        if (this.streamId !== undefined) headers['last-event-id'] = this.streamId;
        // The stream's answer must come within timeoutMs, like any call's; once it has, the
        // stream may stay quiet up to idleMs at a time (the server's keep-alive comment
        // comes well within it), so a connection that died without a word is noticed.
        const limit = this.http.timeoutMs;
        const deadline = limit > 0 || this.idleMs > 0 ? new Deadline(limit, this.abort.signal) : undefined;
        const stream = { opened: false };
        try {
            return await this.readStream(path, headers, deadline, stream);
        } catch (e) {
            if (deadline?.passed !== true) throw e;
            // Quiet too long: as if the server had ended the stream, so the watch resumes from
            // the last id after the usual delay, and a dead connection found this way is no
            // failure.
            if (stream.opened) return { accepted: true, retryMs: undefined, ended: `nothing from the server for ${this.idleMs} ms` };
            throw new TimeoutError(`GET ${path}: no answer within ${limit} ms`, limit);
        } finally {
            deadline?.clear();
        }
    }

    private async readStream(
        path: string,
        headers: Record<string, string>,
        deadline: Deadline | undefined,
        stream: { opened: boolean },
    ): Promise<StreamOutcome> {
        const signal = deadline?.signal ?? this.abort.signal;
        const res = await this.http.fetch(path, { method: 'GET', headers, signal });
        deadline?.stopTimer();
        if (!res.ok) {
            const text = await res.text().catch(() => '');
            let body: unknown = {};
            try {
                body = JSON.parse(text);
            } catch {
                body = { message: text.slice(0, 200) };
            }
            const retryAfter = res.headers.get('retry-after');
            throw errorFromBody(res.status, body, retryAfter === null ? null : Number(retryAfter));
        }
        if (res.body === null) throw new NetworkError(`GET ${path}: no body`);
        const parser = new SseParser(
            (e) => this.onEvent(e),
            (id) => this.startsAt(id),
        );
        const decoder = new TextDecoder();
        const reader = res.body.getReader();
        stream.opened = true;
        try {
            for (;;) {
                deadline?.restart(this.idleMs);
                const { value, done } = await reader.read();
                if (done) break;
                parser.feed(decoder.decode(value, { stream: true }));
            }
        } catch (e) {
            if (this.closed) return { accepted: true, retryMs: parser.retryMs, ended: 'closed' };
            throw new NetworkError(`GET ${path}: the stream broke off: ${describe(e)}`, e);
        }
        return { accepted: true, retryMs: parser.retryMs, ended: `GET ${path}: the server ended the stream` };
    }

    /**
     * The stream opens with an id line and no data: the position it starts from, which a
     * reconnect resumes from even before any change came, and the first time, where the
     * watch starts (what `lastEventId` answers before a change is taken).
     */
    private startsAt(id: string): void {
        this.streamId = id;
        this.handedId ??= id;
        this.settleReady.resolve();
    }

    /**
     * One change: `data` is `{collection, key, seq, ts, body, etag}` or
     * `{collection, key, seq, ts, deleted: true}` (docs/watches.md).
     */
    private onEvent(e: SseEvent): void {
        let data: { [k: string]: unknown };
        try {
            data = JSON.parse(e.data) as { [k: string]: unknown };
        } catch {
            return; // not a change: nothing prom sends today
        }
        if (data === null || typeof data !== 'object' || typeof data['key'] !== 'string') return;
        const deleted = data['deleted'] === true;
        const id = e.id ?? (typeof data['seq'] === 'number' ? String(data['seq']) : '');
        if (id !== '') this.streamId = id;
        this.settleReady.resolve();
        this.queue.push({
            id,
            collection: typeof data['collection'] === 'string' ? data['collection'] : this.collection,
            key: data['key'],
            kind: deleted ? 'delete' : 'put',
            etag: typeof data['etag'] === 'string' ? data['etag'] : null,
            body: deleted ? null : ((data['body'] ?? null) as D | null),
            ts: typeof data['ts'] === 'number' ? data['ts'] : null,
        });
    }
}
