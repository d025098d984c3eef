// Query strings and paths of the HTTP API (docs/http-api.md).

import type { After, AfterPosition, ReadOptions } from './types.js';

/** One path segment: percent-encoded so that a key with `/` or `%` stays one segment. */
export function segment(s: string): string {
    return encodeURIComponent(s);
}

function afterItem(p: AfterPosition): string {
    return typeof p === 'string' ? p : `${p.topic}:${p.seq}`;
}

/** `after` as the server reads it: items `TOPIC:SEQ`, comma separated. */
export function afterParam(after: After): string {
    const items: readonly AfterPosition[] = Array.isArray(after) ? after : [after as AfterPosition];
    return items.map(afterItem).join(',');
}

export function readParams(options: ReadOptions | undefined, params = new URLSearchParams()): URLSearchParams {
    if (options?.after !== undefined) params.set('after', afterParam(options.after));
    if (options?.wait !== undefined) params.set('wait', String(options.wait));
    return params;
}

export function withQuery(path: string, params: URLSearchParams): string {
    const q = params.toString();
    return q === '' ? path : `${path}?${q}`;
}
