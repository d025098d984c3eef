// One HTTP exchange with prom: the bearer token, JSON in and out, and every failure turned
// into a typed error (a server `{"error"}` body into its class, a broken connection into
// NetworkError). Retrying is the caller's decision: only it knows whether a request is safe
// to repeat.

import { baseUrlOf } from './base_url.js';
import { NetworkError, ProtocolError, TimeoutError, errorFromBody } from './errors.js';
import { jsonBody } from './json_body.js';

export interface HttpRequest {
    method: 'GET' | 'POST' | 'HEAD' | 'PUT' | 'DELETE';
    /** Path and query, starting with `/`. */
    path: string;
    headers?: Record<string, string>;
    json?: unknown;
    signal?: AbortSignal | undefined;
    /** How long the request asks the server to hold it (`wait`, `Prefer: wait`), in ms: added to the timeout. */
    serverWaitMs?: number | undefined;
}

export interface HttpAnswer {
    status: number;
    headers: Headers;
    /** The parsed JSON body; undefined for an empty body (304, HEAD). */
    body: unknown;
}

export class HttpTransport {
    readonly baseUrl: string;
    private readonly token: string | undefined;
    private readonly fetchImpl: typeof globalThis.fetch;

    /** Milliseconds one request may take before TimeoutError; 0: no limit. */
    readonly timeoutMs: number;

    constructor(
        baseUrl: string,
        token: string | undefined,
        fetchImpl: typeof globalThis.fetch | undefined,
        timeoutMs = 0,
    ) {
        if (!Number.isFinite(timeoutMs) || timeoutMs < 0) {
            throw new RangeError(`timeoutMs must be a number of milliseconds >= 0, not ${timeoutMs}`);
        }
        this.timeoutMs = timeoutMs;
        this.baseUrl = baseUrlOf(baseUrl);
        this.token = token;
        const f = fetchImpl ?? globalThis.fetch;
        if (typeof f !== 'function') throw new TypeError('@prom/client needs fetch (Node 18 or later, or options.fetch)');
        this.fetchImpl = f;
    }

    authHeaders(): Record<string, string> {
        return this.token === undefined ? {} : { authorization: `Bearer ${this.token}` };
    }

    /** The raw fetch, with the token; network failures become NetworkError. */
    async fetch(path: string, init: RequestInit): Promise<Response> {
        const headers = { ...this.authHeaders(), ...(init.headers as Record<string, string> | undefined) };
        try {
            return await this.fetchImpl(this.baseUrl + path, { ...init, headers });
        } catch (e) {
            if (init.signal?.aborted) throw e;
            throw new NetworkError(`${init.method ?? 'GET'} ${path}: ${describe(e)}`, e);
        }
    }

    /**
     * Sends the request; resolves with 2xx and 304 answers, throws the typed error of any other
     * status.
     */
    async request(req: HttpRequest): Promise<HttpAnswer> {
        if (this.timeoutMs === 0) return this.exchange(req, req.signal);
        const limit = this.timeoutMs + (req.serverWaitMs ?? 0);
        const deadline = new Deadline(limit, req.signal);
        try {
            return await this.exchange(req, deadline.signal);
        } catch (e) {
            if (!deadline.passed) throw e;
            throw new TimeoutError(`${req.method} ${req.path}: no answer within ${limit} ms`, limit);
        } finally {
            deadline.clear();
        }
    }

    private async exchange(req: HttpRequest, signal: AbortSignal | undefined): Promise<HttpAnswer> {
        const headers: Record<string, string> = { accept: 'application/json', ...req.headers };
        let body: string | undefined;
        if (req.json !== undefined) {
            headers['content-type'] = 'application/json';
            body = jsonBody(req.json);
        }
        const init: RequestInit = { method: req.method, headers };
        if (body !== undefined) init.body = body;
        if (signal !== undefined) init.signal = signal;
        const res = await this.fetch(req.path, init);
        let text: string;
        try {
            text = await res.text();
        } catch (e) {
            if (signal?.aborted) throw e;
            throw new NetworkError(`${req.method} ${req.path}: the answer broke off: ${describe(e)}`, e);
        }
        let parsed: unknown;
        if (text !== '') {
            try {
                parsed = JSON.parse(text);
            } catch {
                if (res.ok) throw new ProtocolError(`${req.method} ${req.path}: the answer is not JSON`, res.status);
                parsed = { error: `http_${res.status}`, message: text.slice(0, 200) };
            }
        }
        if (res.ok || res.status === 304) return { status: res.status, headers: res.headers, body: parsed };
        const retryAfter = res.headers.get('retry-after');
        throw errorFromBody(res.status, parsed, retryAfter === null ? null : Number(retryAfter));
    }
}

/**
 * An abort signal that fires after `ms`, or when the caller's own signal does (the caller's
 * reason then, so a caller's abort stays a caller's abort). AbortSignal.any would do it from
 * Node 20.3; the client supports Node 18.
 */
export class Deadline {
    readonly signal: AbortSignal;
    passed = false;
    private readonly controller = new AbortController();
    private timer: ReturnType<typeof setTimeout> | undefined;
    private readonly caller: AbortSignal | undefined;
    private readonly onCallerAbort = () => this.controller.abort(this.caller?.reason);

    /** `ms` > 0 starts the limit at once; 0 starts none (restart() may, later). */
    constructor(ms: number, caller: AbortSignal | undefined) {
        this.signal = this.controller.signal;
        this.caller = caller;
        this.restart(ms);
        if (caller?.aborted) this.onCallerAbort();
        else caller?.addEventListener('abort', this.onCallerAbort, { once: true });
    }

    /** A new limit of `ms` from now in place of the running one (0: none). */
    restart(ms: number): void {
        clearTimeout(this.timer);
        this.timer =
            ms > 0
                ? setTimeout(() => {
                      this.passed = true;
                      this.controller.abort(new Error(`timed out after ${ms} ms`));
                  }, ms)
                : undefined;
    }

    /** The time limit no longer applies; the caller's abort still does. */
    stopTimer(): void {
        this.restart(0);
    }

    clear(): void {
        clearTimeout(this.timer);
        this.caller?.removeEventListener('abort', this.onCallerAbort);
    }
}

export function describe(e: unknown): string {
    if (e instanceof Error) {
        const cause = (e as { cause?: unknown }).cause;
        return cause instanceof Error ? `${e.message} (${cause.message})` : e.message;
    }
    return String(e);
}
