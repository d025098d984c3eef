// Talking to prom serve: the token, JSON reads, the server's errors.
//
// The token is typed once and kept in sessionStorage (this tab only, gone when it closes);
// every request sends it as `Authorization: Bearer`, the WebSocket as `?token=` (browsers
// cannot set headers on a WebSocket; docs/ws-protocol.md).
const tokenKey = "prom.token";

// The server's root: the page is served at <root>/ui/, also behind a proxy that mounts prom
// under a path prefix (docs/dashboard.md).
export const root = new URL("../", document.baseURI);

export function token() {
    return sessionStorage.getItem(tokenKey) ?? "";
}

// Why `t` can be no token the server takes (docs/config.md, "Tokens": at least 8 characters,
// no spaces or control characters), or "". Such a token is refused in the dialog rather than
// sent: the server answers it with 400, not 401, which the page took for a server that
// failed and retried for ever (found from outside).
export function tokenProblem(t) {
    if ([...t].length < 8) return "A token has at least 8 characters.";
    if (/[\x00-\x20\x7f]/.test(t)) return "A token has no spaces or control characters.";
    return "";
}

export function setToken(t) {
    if (t) sessionStorage.setItem(tokenKey, t);
    else sessionStorage.removeItem(tokenKey);
    window.dispatchEvent(new CustomEvent("prom:token"));
}

// Drops a token the server refused, without starting the reads over (setToken does): the
// next page load asks for one instead of sending it again.
export function forgetToken() {
    sessionStorage.removeItem(tokenKey);
}

export function url(path) {
    return new URL(path, root);
}

// A header value is bytes, and fetch takes only characters up to U+00FF: a token with other
// characters goes as its UTF-8 bytes, one character per byte, which is what the server
// compares (the WebSocket's `?token=` is percent-encoded UTF-8 already).
function headerBytes(s) {
    return /^[\x20-\x7e]*$/.test(s) ? s : String.fromCharCode(...new TextEncoder().encode(s));
}

export function authHeaders(extra = {}) {
    const t = token();
    return t ? { ...extra, Authorization: `Bearer ${headerBytes(t)}` } : { ...extra };
}

// JSON.parse, but an integer beyond 2^53 (an id, a counter: the server keeps 64-bit
// integers exactly) becomes a BigInt of the digits sent instead of the nearest double. Where
// the browser cannot give a number's source text, it is JSON.parse.
export function parseJSON(text) {
    return JSON.parse(text, (_, v, context) =>
        typeof v === "number" && !Number.isSafeInteger(v) && Number.isInteger(v) &&
            typeof context?.source === "string" && /^-?\d+$/.test(context.source) ? BigInt(context.source) : v);
}

export class ApiError extends Error {
    constructor(status, code, message) {
        super(message || code || `HTTP ${status}`);
        this.status = status;
        this.code = code;
    }
}

// A 401 anywhere means the token is missing or wrong: the app asks for one (app.js).
function unauthorized(status, message) {
    window.dispatchEvent(new CustomEvent("prom:unauthorized", { detail: { status, message } }));
}

export async function errorOf(res) {
    let code = "", message = "";
    try {
        const body = await res.json();
        code = body.error ?? "";
        message = body.message ?? "";
    } catch {
        // not JSON: keep the status alone
    }
    // 431: the request's header is too large, and the token is the only long one the page
    // sends: no server takes it, as for a 401.
    if (res.status === 401 || (res.status === 431 && token())) unauthorized(res.status, message);
    return new ApiError(res.status, code, message || `${res.status} ${res.statusText}`);
}

// GET a JSON resource: {status, etag, body}; 304 gives body null. Throws ApiError for any
// other status (404 included: callers that expect it catch it).
export async function getJSON(path, { headers = {}, signal } = {}) {
    const res = await fetch(url(path), { headers: authHeaders(headers), signal, cache: "no-store" });
    if (res.status === 304) return { status: 304, etag: res.headers.get("ETag"), body: null };
    if (!res.ok) throw await errorOf(res);
    return { status: res.status, etag: res.headers.get("ETag"), body: parseJSON(await res.text()) };
}

export function enc(s) {
    return encodeURIComponent(s);
}

// Sleeps `ms`, or less when `signal` aborts.
export function sleep(ms, signal) {
    return new Promise((resolve) => {
        const t = setTimeout(resolve, ms);
        signal?.addEventListener("abort", () => { clearTimeout(t); resolve(); }, { once: true });
    });
}
