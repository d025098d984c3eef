// The JSON text of a request body, refusing what JSON cannot hold. JSON has no NaN or
// Infinity: JSON.stringify writes them as null, so a payload would be stored with a value
// its publisher never had. The server refuses a number a double cannot hold with 400
// (docs/http-api.md, "Numbers"); the client refuses these the same way, before sending.

import { BadRequestError } from './errors.js';

/** JSON.stringify(value), or BadRequestError naming the JSON Pointer of a NaN or ±Infinity. */
export function jsonBody(value: unknown): string {
    // The pointer of every object and array met so far: JSON.stringify hands the replacer
    // the holder of each value, not its path, and walks depth first, so a holder's pointer
    // is known when its members come.
    const pointers = new Map<object, string>();
    return JSON.stringify(value, function (this: object, key: string, member: unknown) {
        const holder = pointers.get(this);
        const pointer = holder === undefined ? '' : `${holder}/${escapePointer(key)}`;
        if (typeof member === 'number' && !Number.isFinite(member)) {
            const message = `${member} at '${pointer}' cannot be sent: JSON has no NaN or Infinity (JSON.stringify would write null); nothing was sent`;
            throw new BadRequestError('invalid_argument', message, 0, { error: 'invalid_argument', message, path: pointer });
        }
        if (member !== null && typeof member === 'object') pointers.set(member, pointer);
        return member;
    });
}

function escapePointer(key: string): string {
    return key.replace(/~/g, '~0').replace(/\//g, '~1');
}
