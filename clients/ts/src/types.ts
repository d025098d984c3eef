// The wire shapes of prom's HTTP API and WebSocket gateway (docs/http-api.md,
// docs/ws-protocol.md), as the client hands them to its users.
//
// Seqs and times are JavaScript numbers: prom's seqs are 64-bit, and a number holds every
// integer up to 2^53 exactly, which a log reaches after 285 years at a million events a second.

/** Any JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** One event to publish (the body of `POST /publish`). */
export interface EventInput<P = Json> {
    topic: string;
    payload: P;
    /** Absent or `""`: the event belongs to no key. */
    key?: string | undefined;
    /**
     * Idempotency id, unique within the topic: a publish with a known id appends nothing and
     * answers the original seq with `duplicate: true`. Publishes whose events all carry an id
     * are retried on network failures; others never are.
     */
    id?: string | undefined;
    /** Epoch milliseconds; the server's clock when absent. */
    ts?: number | undefined;
    headers?: Record<string, string> | undefined;
    /** Conditional append: only if the key's latest event in the topic has this seq (0: none). */
    expect?: { key_seq: number } | undefined;
}

/** What the server answered for one published event, plus the topic it went to. */
export interface PublishResult {
    topic: string;
    id: string;
    seq: number;
    ts: number;
    duplicate: boolean;
}

/**
 * A position a read waits for (read-your-writes): `"topic:seq"`, `{topic, seq}` (a
 * PublishResult is one), or several of them.
 */
export type AfterPosition = string | { topic: string; seq: number };
export type After = AfterPosition | readonly AfterPosition[];

/** Options every read takes (docs/http-api.md, "Read-your-writes"). */
export interface ReadOptions {
    /** Answer only once the projectors writing the collection have applied these events. */
    after?: After | undefined;
    /** Seconds (0–60) the server waits for `after` before answering 503 not_caught_up. */
    wait?: number | undefined;
    signal?: AbortSignal | undefined;
}

export interface PublishOptions {
    /**
     * Answer only after the projectors writing this collection have applied the published
     * events (`?wait_for=`).
     */
    waitFor?: string | undefined;
    /** Seconds (0–60) for `waitFor`. */
    wait?: number | undefined;
    signal?: AbortSignal | undefined;
}

/** A document as `GET /collections/{c}/snap/{key}` serves it. */
export interface Snapshot<D = { [key: string]: Json }> {
    collection: string;
    key: string;
    /** The document, with `_key` and `_ts`. */
    body: D;
    etag: string;
    lastModified: string | null;
    /** True when the server answered 304 and the body came from the client's cache. */
    fromCache: boolean;
}

export interface SnapOptions extends ReadOptions {
    /** false: no cache, no If-None-Match (default true). */
    cache?: boolean | undefined;
    /**
     * Blocking read: with a cached copy, hold the request up to this many seconds (a whole
     * number from 1 to 60, else RangeError) until the document changes (`Prefer: wait=N`).
     * Answers the cached copy when it does not.
     */
    waitForChange?: number | undefined;
}

/** A page of `GET /collections/{c}/list`. */
export interface ListPage<D = { [key: string]: Json }> {
    offset: number;
    limit: number;
    count: number;
    items: D[];
    etag: string | null;
}

export interface ListOptions extends ReadOptions {
    offset?: number | undefined;
    limit?: number | undefined;
    /**
     * Equality filters on top-level fields (`?status=stale`). `offset`, `limit`, `after` and
     * `wait` are the list's own parameters and cannot be filters: BadRequestError.
     */
    where?: Record<string, string | number | boolean> | undefined;
}

/** The state of a key at an instant (`GET /at/{topic}/{key}?t=`). */
export interface AtState<S = Json> {
    seq: number;
    state: S;
    ts: number;
}

export interface AtOptions extends ReadOptions {
    reducer?: 'replace' | 'merge' | undefined;
}

/** One event delivered to a subscription. */
export interface Delivery<P = Json> {
    topic: string;
    group: string;
    key: string;
    id: string;
    seq: number;
    ts: number;
    payload: P;
    headers: Record<string, string>;
    /**
     * Moves the group's cursor to this event (manual ack only; with automatic acks it does
     * nothing and resolves to true). Acks never move the cursor backwards. Resolves to true
     * once the server stored the cursor, to false when the connection that brought the
     * event dropped first: the event then comes again after the reconnect (at least once).
     */
    ack(): Promise<boolean>;
}

export interface SubscribeOptions {
    /** The consumer group; absent: an ephemeral subscription that stores nothing. */
    group?: string | undefined;
    /** Where a group without a cursor starts (default `earliest`). */
    from?: 'earliest' | 'latest' | undefined;
    /** Events per frame, 1–10000 (default 100). */
    batchSize?: number | undefined;
    /** Ack each event (or the last of a run) with `delivery.ack()` (default false). */
    manualAck?: boolean | undefined;
    /**
     * Reconnect after a dropped connection (default true: for ever, with the client's backoff
     * delays); RetryOptions bound the attempts in a row; false: the iterator throws NetworkError.
     */
    reconnect?: boolean | RetryOptions | undefined;
    /** Deliveries buffered before the socket stops reading (default 1000). */
    highWaterMark?: number | undefined;
    /**
     * Once connected, the client pings a gateway that has been quiet for a third of this, and
     * takes the connection as dead (and reconnects) when nothing, not even a pong, came for
     * this long. Default 45000; 0: no limit. Time while the client has stopped reading (its
     * buffer is at highWaterMark) does not count. Node (the `ws` package) only: a browser's
     * WebSocket cannot ping.
     */
    idleTimeoutMs?: number | undefined;
    signal?: AbortSignal | undefined;
}

/** One change of a watched document (SSE `GET /collections/{c}/watch`). */
export interface WatchChange<D = { [key: string]: Json }> {
    /** The change's seq in the collection's change log (the SSE `id:`), for `lastEventId`. */
    id: string;
    collection: string;
    key: string;
    /** `put`: the document is now `body` (with `etag`); `delete`: it is gone. */
    kind: 'put' | 'delete';
    etag: string | null;
    body: D | null;
    /** The commit's time (epoch ms). */
    ts: number | null;
}

/** One key, every key with a prefix, or (`{}`) every key of the collection. */
export type WatchSelector = { key: string; prefix?: never } | { prefix: string; key?: never } | { key?: never; prefix?: never };

export interface WatchOptions {
    /**
     * Resume after this change id (the `Last-Event-ID` header; `'0'` replays the whole log).
     * Without it the watch starts with the changes committed after it opened.
     */
    lastEventId?: string | undefined;
    /** Reconnect after a dropped stream (default true), resuming from the last id seen. */
    reconnect?: boolean | RetryOptions | undefined;
    /**
     * Once open, a stream that sends nothing for this long (not even the server's keep-alive
     * comment, which prom sends every 15 s) is taken as dropped, and the watch
     * reconnects from the last id seen. Default 45000; 0: no limit. Keep it well above 15 s.
     */
    idleTimeoutMs?: number | undefined;
    signal?: AbortSignal | undefined;
}

/** Backoff options; a value out of range is a RangeError where they are given. */
export interface RetryOptions {
    /** Attempts in all, the first included: a whole number >= 1 (default 5). */
    attempts?: number | undefined;
    /** First delay in ms (>= 0); doubled each time, with jitter (default 100 ms). */
    baseDelayMs?: number | undefined;
    /** The longest delay in ms (>= 0; default 5000). */
    maxDelayMs?: number | undefined;
}

export interface ClientOptions {
    /**
     * `http://127.0.0.1:8091`; the WebSocket gateway is `/ws` under it. An http: or https:
     * URL with a host (a path prefix is kept), without query, fragment or credentials: else
     * the constructor throws TypeError.
     */
    url: string;
    /** Bearer token (docs/config.md, "Tokens"). */
    token?: string | undefined;
    /** Backoff for retries that are safe (publishes whose events all carry ids, reconnects). */
    retry?: RetryOptions | undefined;
    /** Snapshots kept for If-None-Match (default 1000; 0: none). */
    cacheEntries?: number | undefined;
    /** A fetch implementation (default: the global one). */
    fetch?: typeof globalThis.fetch | undefined;
    /**
     * Milliseconds an HTTP request may go unanswered before it fails with TimeoutError
     * (default 30000; 0: no limit). A request that asks the server to wait (`wait` with
     * `after` or `waitFor`, `waitForChange`) gets that wait on top. A watch's stream must open,
     * and a subscription must be confirmed, within it, else they reconnect; once open, each
     * has its own idleTimeoutMs.
     */
    timeoutMs?: number | undefined;
}
