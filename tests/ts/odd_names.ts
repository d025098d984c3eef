// Compiles against types `prom gen ts` wrote for topics named like the standard library's
// types (`array`, `promise`, `record`) and `__proto__`, with tuples of optional items; then,
// run, checks that the client-side validator agrees with the server on what JSON Schema says
// (own properties only, ECMA-262 patterns, the object's path for an extra property).
import { topicSchemas, validatePayload, type TopicPayloads } from './gen/topics.js';

declare const console: { error(...args: unknown[]): void };
declare const process: { exitCode?: number };

function expect(what: string, ok: boolean): void {
    if (!ok) {
        console.error(`FAILED: ${what}`);
        process.exitCode = 1;
    }
}

// The standard generics are still the standard ones inside the generated module.
const list: Array<number> = [1, 2];
const pair: TopicPayloads['array'] = { arr: ['x'] };  // draft 7: listed items are optional
const none: TopicPayloads['array'] = { arr: [] };
const more: TopicPayloads['array'] = { arr: ['x', 2, true] };
expect('tuples of optional items', list.length === 2 && pair.arr?.length === 1 && none.arr?.length === 0 &&
    more.arr?.length === 3);

expect('__proto__ is an own topic', Object.keys(topicSchemas).includes('__proto__'));
expect('inherited names are not properties',
    validatePayload('record', { constructor: 1 })?.path === '/payload' &&
    validatePayload('record', { toString: 'x' })?.path === '/payload');
expect('a required inherited name is missing', validatePayload('promise', {})?.path === '/payload/toString');
expect('an identity escape in a pattern', validatePayload('parameters', { s: 'a:b' }) === null &&
    validatePayload('parameters', { s: 'ab' })?.path === '/payload/s');
// A pattern JavaScript parses only without the `u` flag is still matched by code points, as
// the server matches it: `.` is one emoji, not half of one.
expect('identity escapes and a lone } with code points',
    validatePayload('parameters', { e: ':x-\u{1F600}}' }) === null &&
    validatePayload('parameters', { e: ':\u{1F600}-a}' }) === null &&
    validatePayload('parameters', { e: ':ab-a}' })?.path === '/payload/e' &&
    validatePayload('parameters', { e: ':x-ab}' })?.path === '/payload/e');

// References written as the server resolves them (docs/schemas.md, "References"): an empty
// segment and a trailing slash are skipped, so these name the number definition.
const refs: TopicPayloads['refs'] = { a: 1, b: 2 };
const typed: number | undefined = refs.a;
expect('lax references are typed as their targets', typed === 1 && refs.b === 2);
expect('lax references are checked, not thrown on',
    validatePayload('refs', { a: 1, b: 2 }) === null &&
    validatePayload('refs', { a: 'x' })?.path === '/payload/a' &&
    validatePayload('refs', { b: 'x' })?.path === '/payload/b');

// A schema without "type": its object keywords constrain objects only, so the other values
// the server accepts are in the type too.
const loose: TopicPayloads['loose'] = { nt: 'str' };
const shaped: TopicPayloads['loose'] = { nt: { q: 'x' } };
expect('a schema without type takes what the server takes',
    validatePayload('loose', loose) === null && validatePayload('loose', shaped) === null &&
    validatePayload('loose', { nt: {} })?.path === '/payload/nt/q');

// As the server (found from outside): an integer against a whole divisor exactly, and a
// string holding U+0000 refused with its path.
expect('multipleOf of an integer is exact',
    validatePayload('exact', { even: 1000000001 })?.path === '/payload/even' &&
    validatePayload('exact', { even: 1000000002 }) === null);
expect('U+0000 in a string is refused at its path',
    validatePayload('exact', { s: 'a\u0000b' })?.path === '/payload/s' &&
    validatePayload('exact', { s: 'ab' }) === null);
// An unpaired surrogate, which JSON.stringify sends as an escape the server refuses (found
// from outside: validatePayload passed it); a pair is one character.
expect('an unpaired surrogate is refused at its path',
    validatePayload('exact', { s: 'a\ud800' })?.path === '/payload/s' &&
    validatePayload('exact', { s: '\udc00' })?.path === '/payload/s' &&
    validatePayload('exact', { s: '\ud83d\ude00' }) === null);

// An object that declares no property is still an object (found from outside: its type was
// `{}`, which a string satisfies); an enum keeps only the values of its declared type.
// @ts-expect-error a string is no object
const notObject: TopicPayloads['bare'] = 'str';
const anyObject: TopicPayloads['bare'] = { x: 1 };
// @ts-expect-error 1 is no string, though the enum lists it
const wrongEnum: TopicPayloads['enumtyped'] = { e: 1 };
// @ts-expect-error 1.5 is no integer
const wrongNumber: TopicPayloads['enumtyped'] = { n: 1.5 as 1.5 };
const rightEnum: TopicPayloads['enumtyped'] = { e: 'a', n: null };
expect('typed objects and enums', notObject !== null && anyObject['x'] === 1 && wrongEnum !== null &&
    wrongNumber !== null && rightEnum.e === 'a' && validatePayload('bare', 'str') !== null);

// Optional properties named like Object.prototype's members: an object without them (whose
// toString is then the inherited one) compiles (found from outside: `{}` did not).
const inheritsNone: TopicPayloads['inherits'] = {};
const inheritsOwn: TopicPayloads['inherits'] = { toString: 'x', valueOf: 2 };
// @ts-expect-error a number is no string
const inheritsWrong: TopicPayloads['inherits'] = { toString: 1 };
expect('inherited member names', inheritsNone !== null && inheritsOwn.toString === 'x' && inheritsWrong !== null &&
    validatePayload('inherits', {}) === null && validatePayload('inherits', { toString: 1 })?.path === '/payload/toString');

// NaN and ±Infinity are no JSON numbers: refused at their path, as the client will not send
// them (found from outside: validatePayload passed NaN against {"type":"number"}).
expect('NaN and Infinity are refused at their path',
    validatePayload('exact', { n: NaN })?.path === '/payload/n' &&
    validatePayload('exact', { n: -Infinity })?.path === '/payload/n' &&
    validatePayload('exact', { n: 1.5 }) === null);

// The paths the server's 422 gives (found from outside): the later of two equal items, the
// array for an item past a closed tuple, the object for a missing dependency; a bad property
// name at its object (the server names the payload itself, wherever the object is).
expect('uniqueItems at the later item', validatePayload('paths', { u: [1, 1] })?.path === '/payload/u/1');
expect('additionalItems false at the array', validatePayload('paths', { t: [1, 2] })?.path === '/payload/t');
expect('propertyNames at the object', validatePayload('paths', { n: { A: 1 } })?.path === '/payload/n');
expect('dependencies at the object', validatePayload('paths', { d: { a: 1 } })?.path === '/payload/d');
