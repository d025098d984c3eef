// The server's base URL, checked when the client is made. Every request is this URL with a
// path appended, and the gateway's is the same with `ws` for `http`: anything but an http:
// or https: URL with a host fails only later, and misleadingly (found from outside:
// 'localhost:46100', a URL of the scheme `localhost:`, made publishes retry and then fail
// with "fetch failed (unknown scheme)", and subscriptions with a ProtocolError).

const example = "like 'http://127.0.0.1:8091'";

/** The URL without its trailing slashes; TypeError for anything else than http(s) with a host. */
export function baseUrlOf(url: unknown): string {
    if (typeof url !== 'string') {
        throw new TypeError(`the server url must be a string ${example}, not ${url === null ? 'null' : typeof url}`);
    }
    let parsed: URL | undefined;
    try {
        parsed = new URL(url);
    } catch {
        parsed = undefined;
    }
    if (parsed === undefined || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || parsed.host === '') {
        throw new TypeError(`the server url must be an http: or https: URL with a host, ${example}, not '${url}'`);
    }
    if (parsed.search !== '' || parsed.hash !== '') {
        throw new TypeError(`the server url cannot have a query or fragment (paths are appended to it): '${url}'`);
    }
    if (parsed.username !== '' || parsed.password !== '') {
        // fetch refuses a URL with credentials; prom takes a bearer token.
        throw new TypeError(`the server url cannot carry a user or password: give the token as options.token`);
    }
    return parsed.href.replace(/\/+$/, '');
}
