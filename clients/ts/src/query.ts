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

/**
 * The names `GET /collections/{c}/list` reads as its own parameters, never as filters
 * (docs/http-api.md, "Lists" and "Read-your-writes").
 */
const listParameters = ['offset', 'limit', 'after', 'wait'];

/**
 * `where` as equality filters. A field named like a list parameter cannot be one: it would
 * set that parameter instead (found from outside: `{limit: 2}` replaced the limit, `{wait: 3}`
 * dropped the filter), so it is refused before anything is sent.
 */
export function whereParams(where: Record<string, string | number | boolean>, params: URLSearchParams): URLSearchParams {
    for (const [field, value] of Object.entries(where)) {
        if (listParameters.includes(field)) {
            throw new BadRequestError(
                'invalid_argument',
                `where cannot filter on '${field}': ${listParameters.join(', ')} are parameters of the list, not filters`,
                0,
            );
        }
        params.set(field, String(value));
    }
    return params;
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
