// Typed errors: one class per `{"error"}` code the server sends (docs/http-api.md, "Errors";
// docs/ws-protocol.md, "Errors"), so callers can write `if (e instanceof ConflictError)`.
// Every class keeps the server's message, its HTTP status (0 over the WebSocket and for
// network failures) and the whole error body.

import type { Json, PublishResult } from './types.js';

type ErrorBody = { [key: string]: Json };

export class PromError extends Error {
    /** The server's `error` code (`network` and `protocol` are the client's own). */
    readonly code: string;
    /** The HTTP status; 0 for WebSocket errors and network failures. */
    readonly status: number;
    /** The error body as the server sent it. */
    readonly body: ErrorBody;

    constructor(code: string, message: string, status: number, body: ErrorBody = {}, options?: { cause?: unknown }) {
        super(message, options);
        this.name = new.target.name;
        this.code = code;
        this.status = status;
        this.body = body;
    }
}

/** 400: malformed request, query or body (`bad_request`, `invalid_argument`, `invalid_topic`, `type_error`). */
export class BadRequestError extends PromError {}
/** 401: tokens are configured and this request had no valid one. */
export class UnauthorizedError extends PromError {}
/** 403: the token lacks the permission. */
export class ForbiddenError extends PromError {}
/** 404: unknown route, key or collection; over the WebSocket, no such subscription. */
export class NotFoundError extends PromError {}
/** 405: the route exists, the method does not. */
export class MethodNotAllowedError extends PromError {}
/** 413: the body is over the server's `body_limit`. */
export class TooLargeError extends PromError {}
/** 415: the body was not `application/json`. */
export class UnsupportedMediaTypeError extends PromError {}
/** The WebSocket connection has too many subscriptions (`too_many`). */
export class TooManyError extends PromError {}
/** 503 `unavailable` (or `cancelled`): the database is busy or away; retry later. */
export class UnavailableError extends PromError {}
/** 500: the database failed (`io_error`, `corrupt`, `internal`). */
export class StorageError extends PromError {}

/**
 * 409: a conditional append whose `expect` failed (`keySeq` is the key's current seq; retry a
 * read-modify-write from there), a second subscription of one group, or a projector version
 * conflict (`keySeq` null then).
 */
export class ConflictError extends PromError {
    readonly keySeq: number | null;
    constructor(code: string, message: string, status: number, body: ErrorBody = {}) {
        super(code, message, status, body);
        this.keySeq = typeof body['key_seq'] === 'number' ? body['key_seq'] : null;
    }
}

/**
 * 410 `gone`: retention dropped what the answer needs, or a published event is older than its
 * topic's horizon. `horizon` is where the answer would have to start again (docs/retention.md).
 */
export class GoneError extends PromError {
    readonly horizon: number | null;
    constructor(code: string, message: string, status: number, body: ErrorBody = {}) {
        super(code, message, status, body);
        this.horizon = typeof body['horizon'] === 'number' ? body['horizon'] : null;
    }
}

/** 422 `invalid_projector`: `path` is the JSON Pointer of the offending field. */
export class InvalidProjectorError extends PromError {
    readonly path: string | null;
    constructor(code: string, message: string, status: number, body: ErrorBody = {}) {
        super(code, message, status, body);
        this.path = typeof body['path'] === 'string' ? body['path'] : null;
    }
}

/** 422 `invalid_payload`: the payload breaks its topic's schema at `path`. */
export class InvalidPayloadError extends PromError {
    readonly path: string | null;
    readonly schemaVersion: number | null;
    constructor(code: string, message: string, status: number, body: ErrorBody = {}) {
        super(code, message, status, body);
        this.path = typeof body['path'] === 'string' ? body['path'] : null;
        this.schemaVersion = typeof body['schema_version'] === 'number' ? body['schema_version'] : null;
    }
}

/** 422 `no_projector`: `after`/`waitFor` names a topic no projector of the collection reads. */
export class NoProjectorError extends PromError {}

/**
 * 503 `not_caught_up`: the projector did not apply the wanted event within `wait`. After a
 * publish with `waitFor`, the events are durable all the same: `results` has them.
 */
export class NotCaughtUpError extends PromError {
    readonly projector: string | null;
    readonly topic: string | null;
    readonly group: string | null;
    readonly cursor: number | null;
    readonly wanted: number | null;
    /** Seconds, from `Retry-After`. */
    readonly retryAfter: number | null;
    /** The publish's results (only after `publish(…, {waitFor})`). */
    results: PublishResult[] | null = null;
    constructor(code: string, message: string, status: number, body: ErrorBody = {}, retryAfter: number | null = null) {
        super(code, message, status, body);
        const str = (k: string) => (typeof body[k] === 'string' ? (body[k] as string) : null);
        const num = (k: string) => (typeof body[k] === 'number' ? (body[k] as number) : null);
        this.projector = str('projector');
        this.topic = str('topic');
        this.group = str('group');
        this.cursor = num('cursor');
        this.wanted = num('wanted');
        this.retryAfter = retryAfter;
    }
}

/** The server could not be reached, or the connection broke before an answer. */
export class NetworkError extends PromError {
    constructor(message: string, cause?: unknown, code = 'network') {
        super(code, message, 0, {}, { cause });
    }
}

/**
 * No answer within the client's `timeoutMs` (plus the wait the request asked the server
 * for): a server that accepts connections but does not answer. A NetworkError, so the
 * publishes that are safe to repeat are retried after it too; `code` is `timeout`.
 */
export class TimeoutError extends NetworkError {
    /** The limit that passed, in milliseconds. */
    readonly timeoutMs: number;
    constructor(message: string, timeoutMs: number) {
        super(message, undefined, 'timeout');
        this.timeoutMs = timeoutMs;
    }
}

/** The server answered something that is not prom's protocol (not JSON, a wrong shape). */
export class ProtocolError extends PromError {
    constructor(message: string, status = 0) {
        super('protocol', message, status, {});
    }
}

type ErrorClass = new (code: string, message: string, status: number, body: ErrorBody) => PromError;

const byCode: Record<string, ErrorClass> = {
    bad_request: BadRequestError,
    invalid_argument: BadRequestError,
    type_error: BadRequestError,
    invalid_topic: BadRequestError,
    unauthorized: UnauthorizedError,
    forbidden: ForbiddenError,
    not_found: NotFoundError,
    method_not_allowed: MethodNotAllowedError,
    conflict: ConflictError,
    gone: GoneError,
    too_large: TooLargeError,
    unsupported_media_type: UnsupportedMediaTypeError,
    too_many: TooManyError,
    invalid_projector: InvalidProjectorError,
    invalid_payload: InvalidPayloadError,
    no_projector: NoProjectorError,
    unavailable: UnavailableError,
    cancelled: UnavailableError,
    io_error: StorageError,
    corrupt: StorageError,
    internal: StorageError,
};

const byStatus: Record<number, ErrorClass> = {
    400: BadRequestError,
    401: UnauthorizedError,
    403: ForbiddenError,
    404: NotFoundError,
    405: MethodNotAllowedError,
    409: ConflictError,
    410: GoneError,
    413: TooLargeError,
    415: UnsupportedMediaTypeError,
    431: BadRequestError,
    503: UnavailableError,
};

/**
 * The typed error for a server error body (`{"error","message",…}`) and status. An unknown
 * code falls back to the class of its HTTP status, then to PromError itself.
 */
export function errorFromBody(status: number, body: unknown, retryAfter: number | null = null): PromError {
    const o: ErrorBody = body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as ErrorBody) : {};
    const code = typeof o['error'] === 'string' ? o['error'] : `http_${status}`;
    const message = typeof o['message'] === 'string' ? o['message'] : `HTTP ${status}`;
    if (code === 'not_caught_up') return new NotCaughtUpError(code, message, status, o, retryAfter);
    const cls = byCode[code] ?? byStatus[status] ?? (status >= 500 ? StorageError : PromError);
    return new cls(code, message, status, o);
}
