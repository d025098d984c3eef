// Query strings and paths of the HTTP API (docs/http-api.md).

import { BadRequestError } from './errors.js';
import type { After, AfterPosition, ReadOptions } from './types.js';

/**
 * One path segment: percent-encoded so that a key with `/` or `%` stays one segment. A
 * segment `.` or `..` cannot be sent: URL parsers (fetch's too) remove it, encoded or not,
 * and the request would reach another route or document.
 */
export function segment(s: string): string {
    if (s === '.' || s === '..') {
        throw new BadRequestError(
            'bad_request',
            `'${s}' cannot be a URL path segment (URLs drop '.' and '..' segments, encoded or not)`,
            0,
        );
    }
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
