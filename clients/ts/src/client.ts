// PromClient: the one object a service holds to talk to a prom server. It owns nothing but
// its snapshot cache; subscriptions and watches it starts own their connections and end
// with their own close(). Safe to share across concurrent calls.

import { backoffOf, delayFor, sleep, type Backoff } from './backoff.js';
import { NetworkError, NotCaughtUpError, PromError, ProtocolError, UnavailableError } from './errors.js';
import { EtagCache } from './etag_cache.js';
import { HttpTransport } from './http.js';
import { readParams, segment, whereParams, withQuery } from './query.js';
import { Subscription } from './subscription.js';
import type {
    AtOptions,
    AtState,
    ClientOptions,
    EventInput,
    Json,
    ListOptions,
    ListPage,
    PublishOptions,
    PublishResult,
    ReadOptions,
    SnapOptions,
    Snapshot,
    SubscribeOptions,
    WatchOptions,
    WatchSelector,
} from './types.js';
import { Watch } from './watch.js';

type Doc = { [key: string]: Json };

export class PromClient {
    private readonly http: HttpTransport;
    private readonly token: string | undefined;
    private readonly backoff: Backoff;
    private readonly cache: EtagCache;

    constructor(options: ClientOptions | string) {
        // A missing or wrong url is a TypeError here (base_url.ts), not where a call fails later
        // and less clearly (found from outside: `new PromClient({})` failed with "Cannot read
        // properties of undefined").
        const o: ClientOptions = typeof options === 'string' ? { url: options } : (options ?? ({} as ClientOptions));
        if (typeof o !== 'object') throw new TypeError(`PromClient takes a URL or {url, …}, not ${typeof o}`);
        this.http = new HttpTransport(o.url, o.token, o.fetch, o.timeoutMs ?? defaultTimeoutMs);
        this.token = o.token;
        this.backoff = backoffOf(o.retry);
        this.cache = new EtagCache(o.cacheEntries ?? 1000);
    }

    /** The server's base URL, without a trailing slash. */
    get url(): string {
        return this.http.baseUrl;
    }

    /** The WebSocket gateway's URL (`ws://…/ws`). */
    get wsUrl(): string {
        return this.http.baseUrl.replace(/^http/, 'ws') + '/ws';
    }

    /**
     * Publishes one event; resolves once it is durable. Throws ConflictError (with `keySeq`)
     * when its `expect` failed, NotCaughtUpError (with `results`) when `waitFor` timed out.
     */
    async publish<P = Json>(event: EventInput<P>, options?: PublishOptions): Promise<PublishResult> {
        const [result] = await this.publishBatch([event], options);
        return result as PublishResult;
    }

    /**
     * Publishes several events as one batch: all are appended or none. Retried with backoff
     * after a network failure or `unavailable` only when every event carries an `id` (the
     * server then answers a repeat as a duplicate); otherwise the failure is thrown.
     */
    async publishBatch<P = Json>(events: readonly EventInput<P>[], options?: PublishOptions): Promise<PublishResult[]> {
        if (events.length === 0) return [];
        const params = new URLSearchParams();
        if (options?.waitFor !== undefined) params.set('wait_for', options.waitFor);
        if (options?.wait !== undefined) params.set('wait', String(options.wait));
        const path = withQuery('/publish', params);
        const body = events.length === 1 ? events[0] : { events };
        const idempotent = events.every((e) => typeof e.id === 'string' && e.id !== '');
        for (let attempt = 1; ; ++attempt) {
            try {
                const answer = await this.http.request({
                    method: 'POST',
                    path,
                    json: body,
                    signal: options?.signal,
                    serverWaitMs: options?.waitFor !== undefined ? afterWaitMs(options.wait) : 0,
                });
                return resultsOf(answer.body, events);
            } catch (e) {
                if (e instanceof NotCaughtUpError) {
                    e.results = Array.isArray(e.body['results']) ? resultsOf(e.body, events) : null;
                    throw e;
                }
                const transient = e instanceof NetworkError || (e instanceof UnavailableError && e.code === 'unavailable');
                if (!idempotent || !transient || attempt >= this.backoff.attempts) throw e;
                await sleep(delayFor(this.backoff, attempt), options?.signal);
            }
        }
    }

    /**
     * A document of a collection. Sends the ETag of the cached copy as If-None-Match and
     * answers the cached copy on 304 (`fromCache: true`). NotFoundError for an unknown key.
     */
    async snap<D = Doc>(collection: string, key: string, options?: SnapOptions): Promise<Snapshot<D>> {
        const waitForChange = waitForChangeOf(options?.waitForChange);
        const useCache = options?.cache !== false;
        const cacheKey = `${collection}\u0000${key}`;
        const cached = useCache ? this.cache.get(cacheKey) : undefined;
        const headers: Record<string, string> = {};
        if (cached !== undefined) {
            headers['if-none-match'] = cached.etag;
            if (waitForChange !== undefined) headers['prefer'] = `wait=${waitForChange}`;
        }
        const path = withQuery(`/collections/${segment(collection)}/snap/${segment(key)}`, readParams(options));
        let answer;
        try {
            const held = cached !== undefined ? (waitForChange ?? 0) * 1000 : 0;
            answer = await this.http.request({
                method: 'GET',
                path,
                headers,
                signal: options?.signal,
                serverWaitMs: readWaitMs(options) + held,
            });
        } catch (e) {
            if (e instanceof PromError && e.code === 'not_found') this.cache.delete(cacheKey);
            throw e;
        }
        if (answer.status === 304) {
            if (cached === undefined) throw new ProtocolError(`GET ${path}: 304 without If-None-Match`, 304);
            // A copy: what a caller does to its result must not become the next caller's
            // "server's document" (found from outside).
            const body = structuredClone(cached.body) as D;
            return { collection, key, body, etag: cached.etag, lastModified: cached.lastModified, fromCache: true };
        }
        const etag = answer.headers.get('etag');
        if (etag === null) throw new ProtocolError(`GET ${path}: no ETag`, answer.status);
        const lastModified = answer.headers.get('last-modified');
        if (useCache) this.cache.set(cacheKey, { etag, lastModified, body: structuredClone(answer.body) });
        return { collection, key, body: answer.body as D, etag, lastModified, fromCache: false };
    }

    /**
     * A page of a collection, newest `_ts` first; `where` filters on top-level fields, except
     * those named like the list's parameters (offset, limit, after, wait): BadRequestError.
     */
    async list<D = Doc>(collection: string, options?: ListOptions): Promise<ListPage<D>> {
        const params = new URLSearchParams();
        if (options?.offset !== undefined) params.set('offset', String(options.offset));
        if (options?.limit !== undefined) params.set('limit', String(options.limit));
        whereParams(options?.where ?? {}, params);
        const path = withQuery(`/collections/${segment(collection)}/list`, readParams(options, params));
        const answer = await this.http.request({ method: 'GET', path, signal: options?.signal, serverWaitMs: readWaitMs(options) });
        const page = answer.body as Omit<ListPage<D>, 'etag'>;
        if (page === null || typeof page !== 'object' || !Array.isArray(page.items)) {
            throw new ProtocolError(`GET ${path}: not a list page`, answer.status);
        }
        return { ...page, etag: answer.headers.get('etag') };
    }

    /**
     * The state of `key` in `topic` at instant `t` (epoch ms, a Date or ISO-8601 with a zone).
     * NotFoundError when the key had no event by then.
     */
    async at<S = Json>(topic: string, key: string, t: number | Date | string, options?: AtOptions): Promise<AtState<S>> {
        const params = new URLSearchParams();
        params.set('t', t instanceof Date ? String(t.getTime()) : String(t));
        if (options?.reducer !== undefined) params.set('reducer', options.reducer);
        const path = withQuery(`/at/${segment(topic)}/${segment(key)}`, readParams(options, params));
        // `/at` reads the log, which holds an event once its publish is answered: it never waits.
        const answer = await this.http.request({ method: 'GET', path, signal: options?.signal });
        return answer.body as AtState<S>;
    }

    /**
     * Subscribes to a topic over the WebSocket gateway. Iterate it with `for await`; with
     * `manualAck`, call `delivery.ack()`. After a dropped connection it reconnects with
     * backoff and the group resumes at its durable cursor (unacknowledged events come again).
     */
    subscribe<P = Json>(topic: string, options: SubscribeOptions = {}): Subscription<P> {
        return new Subscription<P>(this.wsUrl, this.token, this.http.timeoutMs, topic, options, this.backoff);
    }

    /**
     * Watches documents of a collection (Server-Sent Events, docs/watches.md): one key, every
     * key with a prefix, or every key. Iterate it with `for await`; after a dropped stream it
     * reconnects with `Last-Event-ID`, so no change is missed or seen twice. It starts with the
     * changes committed after it opened, unless `lastEventId` says where to resume.
     */
    watch<D = Doc>(collection: string, selector: WatchSelector = {}, options: WatchOptions = {}): Watch<D> {
        return new Watch<D>(this.http, collection, selector, options, this.backoff);
    }
}

/** The client's limit on one HTTP request when ClientOptions.timeoutMs is not given. */
const defaultTimeoutMs = 30_000;

/** What `wait` (seconds, server default 5) lets the server hold a request with `after` or `waitFor`. */
function afterWaitMs(wait: number | undefined): number {
    return (wait ?? 5) * 1000;
}

/**
 * SnapOptions.waitForChange, checked: the server ignores a `Prefer: wait` that is not whole
 * seconds, and wait=0 (docs/http-api.md, "Blocking reads"), so such a read would not wait at
 * all (found from outside: 1.5 and 0 were sent as they were).
 */
function waitForChangeOf(seconds: number | undefined): number | undefined {
    if (seconds === undefined || (Number.isInteger(seconds) && seconds >= 1 && seconds <= 60)) return seconds;
    throw new RangeError(`waitForChange must be whole seconds from 1 to 60, not ${seconds}`);
}

function readWaitMs(options: ReadOptions | undefined): number {
    return options?.after !== undefined ? afterWaitMs(options.wait) : 0;
}

function resultsOf(body: unknown, events: readonly EventInput<unknown>[]): PublishResult[] {
    const results = (body as { results?: unknown } | undefined)?.results;
    if (!Array.isArray(results) || results.length !== events.length) {
        throw new ProtocolError('POST /publish: the answer has no result per event');
    }
    return results.map((r: { id: string; seq: number; ts: number; duplicate: boolean }, i) => ({
        topic: (events[i] as EventInput<unknown>).topic,
        id: r.id,
        seq: r.seq,
        ts: r.ts,
        duplicate: r.duplicate,
    }));
}
