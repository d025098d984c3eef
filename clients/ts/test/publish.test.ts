// publish and publishBatch against a real server: results, idempotent ids, conditional
// appends, all-or-nothing batches, typed errors, and which failures are retried.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { BadRequestError, ConflictError, NetworkError, PromClient, type PublishResult } from '../src/index.js';
import { PromServer } from './server.js';

describe('publish', () => {
    let server: PromServer;
    let prom: PromClient;

    before(async () => {
        server = await PromServer.start({ config: { projectors: [] } });
        prom = new PromClient(server.url);
    });
    after(async () => {
        await server.dispose();
    });

    it('answers the seq, id and time of a durable event, with the topic it went to', async () => {
        const r = await prom.publish({ topic: 'orders', key: 'o1', payload: { total: 5 } });
        assert.equal(r.topic, 'orders');
        assert.equal(r.seq, 1);
        assert.equal(r.duplicate, false);
        assert.equal(typeof r.id, 'string');
        assert.ok(r.ts > 1_600_000_000_000);
    });

    it('appends an id once: a repeat answers the original seq as a duplicate', async () => {
        const first = await prom.publish({ topic: 'ids', key: 'k', payload: 1, id: 'evt-1' });
        const again = await prom.publish({ topic: 'ids', key: 'k', payload: 2, id: 'evt-1' });
        assert.equal(again.seq, first.seq);
        assert.equal(again.duplicate, true);
        assert.equal(again.id, 'evt-1');
        const next = await prom.publish({ topic: 'ids', key: 'k', payload: 3 });
        assert.equal(next.seq, first.seq + 1, 'the duplicate appended nothing');
    });

    it('publishes a batch in input order', async () => {
        const rs = await prom.publishBatch([
            { topic: 'batch', key: 'a', payload: 1 },
            { topic: 'batch', key: 'b', payload: 2 },
            { topic: 'other', payload: 3 },
        ]);
        assert.deepEqual(
            rs.map((r) => [r.topic, r.seq]),
            [
                ['batch', 1],
                ['batch', 2],
                ['other', 1],
            ],
        );
    });

    it('appends with expect only at the expected key seq, else a ConflictError with the key seq', async () => {
        const r0 = await prom.publish({ topic: 'cas', key: 'x', payload: { v: 1 }, expect: { key_seq: 0 } });
        const r1 = await prom.publish({ topic: 'cas', key: 'x', payload: { v: 2 }, expect: { key_seq: r0.seq } });
        await assert.rejects(
            prom.publish({ topic: 'cas', key: 'x', payload: { v: 3 }, expect: { key_seq: r0.seq } }),
            (e: unknown) => {
                assert.ok(e instanceof ConflictError);
                assert.equal(e.status, 409);
                assert.equal(e.code, 'conflict');
                assert.equal(e.keySeq, r1.seq);
                assert.match(e.message, /nothing was appended/);
                return true;
            },
        );
    });

    it('appends nothing of a batch whose expectation fails', async () => {
        await prom.publish({ topic: 'cas2', key: 'y', payload: 1 });
        await assert.rejects(
            prom.publishBatch([
                { topic: 'cas2', key: 'z', payload: 'first' },
                { topic: 'cas2', key: 'y', payload: 'second', expect: { key_seq: 0 } },
            ]),
            ConflictError,
        );
        const next = await prom.publish({ topic: 'cas2', key: 'w', payload: 2 });
        assert.equal(next.seq, 2, 'the refused batch left no event behind');
    });

    it('turns a refused event into a BadRequestError with the server message', async () => {
        await assert.rejects(
            prom.publish({ topic: 'bad', payload: 1, expect: { key_seq: -1 } }),
            (e: unknown) => e instanceof BadRequestError && e.status === 400 && e.message.length > 0,
        );
        await assert.rejects(prom.publishBatch([{ topic: '', payload: 1 }]), BadRequestError);
    });

    it('refuses NaN and Infinity before sending, naming where they are, and stores nothing', async () => {
        // Found from outside: JSON.stringify wrote them as null and the publish succeeded,
        // where the server refuses a number a double cannot hold (docs/http-api.md, "Numbers").
        await assert.rejects(prom.publish({ topic: 'finite', key: 'f', payload: { cpu: NaN } }), (e: unknown) => {
            assert.ok(e instanceof BadRequestError);
            assert.equal(e.code, 'invalid_argument');
            assert.equal(e.status, 0, 'refused by the client: nothing was sent');
            assert.match(e.message, /NaN at '\/payload\/cpu'/);
            return true;
        });
        await assert.rejects(
            prom.publishBatch([
                { topic: 'finite', payload: { load: [1] } },
                { topic: 'finite', payload: { load: [0.5, -Infinity] } },
            ]),
            (e: unknown) => e instanceof BadRequestError && /-Infinity at '\/events\/1\/payload\/load\/1'/.test(e.message),
        );
        await assert.rejects(prom.publish({ topic: 'finite', payload: 1, ts: Infinity }), /Infinity at '\/ts'/);
        const r = await prom.publish({ topic: 'finite', payload: { cpu: 1.5 } });
        assert.equal(r.seq, 1, 'none of the refused events was appended');
    });

    it('retries a publish whose events all carry ids while the server is away, and it lands once', async () => {
        const patient = new PromClient({ url: server.url, retry: { attempts: 40, baseDelayMs: 50, maxDelayMs: 200 } });
        await server.stop();
        const pending: Promise<PublishResult> = patient.publish({ topic: 'retry', key: 'r', payload: 1, id: 'retry-1' });
        await new Promise((r) => setTimeout(r, 300));
        await server.restart({ projectors: [] });
        const r = await pending;
        assert.equal(r.seq, 1);
        assert.equal(r.duplicate, false);
        const again = await patient.publish({ topic: 'retry', key: 'r', payload: 1, id: 'retry-1' });
        assert.equal(again.duplicate, true);
    });

    it('never retries a publish without ids: the network failure is thrown', async () => {
        const patient = new PromClient({ url: server.url, retry: { attempts: 40, baseDelayMs: 50 } });
        await server.stop();
        try {
            const started = Date.now();
            await assert.rejects(patient.publish({ topic: 'retry', payload: 1 }), (e: unknown) => {
                assert.ok(e instanceof NetworkError);
                assert.equal(e.code, 'network');
                return true;
            });
            assert.ok(Date.now() - started < 1000, 'failed at once, no backoff');
            await assert.rejects(patient.publishBatch([{ topic: 't', payload: 1, id: 'a' }, { topic: 't', payload: 2 }]), NetworkError);
        } finally {
            await server.restart({ projectors: [] });
        }
    });
});
