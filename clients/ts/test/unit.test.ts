// The parts that need no server: the SSE parser, the error mapping, after= formatting, the
// JSON body check, the iterators' queue.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
    BadRequestError,
    ConflictError,
    InvalidPayloadError,
    NotCaughtUpError,
    PromError,
    StorageError,
    UnavailableError,
    errorFromBody,
} from '../src/index.js';
import { AsyncQueue } from '../src/async_queue.js';
import { jsonBody } from '../src/json_body.js';
import { afterParam } from '../src/query.js';
import { SseParser, type SseEvent } from '../src/sse.js';

describe('SseParser', () => {
    it('splits events at blank lines across chunks and line endings, keeping id and event', () => {
        const got: SseEvent[] = [];
        const p = new SseParser((e) => got.push(e));
        p.feed(': keep-alive\n\nid: 7\nevent: delete\nda');
        p.feed('ta: {"key":"a"}\r\n\r');
        p.feed('\ndata: line1\ndata: line2\nretry: 250\n\n');
        assert.deepEqual(got, [
            { event: 'delete', data: '{"key":"a"}', id: '7' },
            { event: 'message', data: 'line1\nline2', id: '7' },
        ]);
        assert.equal(p.retryMs, 250);
    });

    it('takes the position of an id line without data, as prom opens a watch stream', () => {
        const got: SseEvent[] = [];
        const p = new SseParser((e) => got.push(e));
        p.feed(': watching changes after 41\nretry: 1000\nid: 41\n\n');
        assert.equal(got.length, 0);
        assert.equal(p.lastEventId, '41');
        p.feed('id: 42\ndata: {}\n\n');
        assert.equal(got[0]?.id, '42');
    });

    it('keeps the last complete block\'s id while a block is cut off in the middle', () => {
        const got: SseEvent[] = [];
        const p = new SseParser((e) => got.push(e));
        p.feed('id: 11\ndata: {}\n\nid: 12\ndata: {"key":');
        // A reconnect now must resume after 11: the change with id 12 never arrived whole.
        assert.equal(p.lastEventId, '11');
        assert.equal(got.length, 1);
    });
});

describe('errorFromBody', () => {
    it('maps each server code to its class and keeps the fields', () => {
        const c = errorFromBody(409, { error: 'conflict', key_seq: 4, message: 'at 4' });
        assert.ok(c instanceof ConflictError && c.keySeq === 4 && c.message === 'at 4');
        assert.ok(errorFromBody(400, { error: 'type_error', message: 'm' }) instanceof BadRequestError);
        assert.ok(errorFromBody(500, { error: 'corrupt', message: 'm' }) instanceof StorageError);
        assert.ok(errorFromBody(503, { error: 'unavailable', message: 'm' }) instanceof UnavailableError);
        const p = errorFromBody(422, { error: 'invalid_payload', message: 'm', path: '/payload/x', schema_version: 2 });
        assert.ok(p instanceof InvalidPayloadError && p.path === '/payload/x' && p.schemaVersion === 2);
        const n = errorFromBody(503, { error: 'not_caught_up', message: 'm', cursor: 41, wanted: 42, projector: 'p' }, 1);
        assert.ok(n instanceof NotCaughtUpError && n.cursor === 41 && n.wanted === 42 && n.retryAfter === 1);
    });

    it('falls back to the status for an unknown code and keeps non-JSON answers readable', () => {
        const e = errorFromBody(418, { error: 'teapot', message: 'short and stout' });
        assert.ok(e instanceof PromError);
        assert.equal(e.code, 'teapot');
        assert.equal(e.status, 418);
        assert.ok(errorFromBody(502, undefined) instanceof StorageError);
    });
});

describe('afterParam', () => {
    it('writes TOPIC:SEQ items, comma separated', () => {
        assert.equal(afterParam('a:1'), 'a:1');
        assert.equal(afterParam({ topic: 'process.state', seq: 42 }), 'process.state:42');
        assert.equal(afterParam([{ topic: 'a', seq: 1 }, 'b:2']), 'a:1,b:2');
    });
});

describe('jsonBody', () => {
    it('writes what JSON.stringify writes when every number is finite', () => {
        const value = { a: [1, 2.5, -0], d: new Date(0), s: 'x' };
        assert.equal(jsonBody(value), JSON.stringify(value));
    });

    it('names the JSON Pointer of a NaN or Infinity, escaping / and ~, after toJSON', () => {
        const refused = (v: unknown) => {
            try {
                jsonBody(v);
            } catch (e) {
                assert.ok(e instanceof BadRequestError);
                return e.body['path'];
            }
            return 'sent';
        };
        assert.equal(refused(NaN), '');
        assert.equal(refused({ 'a/b': { 'c~d': [0, Infinity] } }), '/a~1b/c~0d/1');
        assert.equal(refused({ x: { toJSON: () => ({ y: -Infinity }) } }), '/x/y');
        assert.equal(refused({ x: [{}, { '': NaN }] }), '/x/1/');
    });
});

describe('AsyncQueue', () => {
    it('end() lets the items before it be taken; endNow() drops them and a pending error', async () => {
        const q = new AsyncQueue<number>();
        q.push(1);
        q.push(2);
        q.end();
        assert.deepEqual(await q.next(), { value: 1, done: false });
        q.endNow();
        assert.equal((await q.next()).done, true);

        const failed = new AsyncQueue<number>();
        failed.push(1);
        failed.fail(new Error('lost'));
        failed.endNow();
        assert.equal((await failed.next()).done, true, 'no item, no error after endNow()');

        const waiting = new AsyncQueue<number>();
        const next = waiting.next();
        waiting.endNow();
        waiting.push(3);
        assert.equal((await next).done, true);
        assert.equal((await waiting.next()).done, true);
    });
});
