// snap (with its ETag cache), list, at and read-your-writes against a real server running
// the built-in process projectors.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { GoneError, NoProjectorError, NotFoundError, PromClient, BadRequestError } from '../src/index.js';
import { PromServer } from './server.js';

interface Process {
    _key: string;
    processId: string;
    host: string;
    status: string;
}

function state(processId: string, status = 'alive') {
    return { topic: 'process.state', key: processId, payload: { processId, host: 'h1', status } };
}

describe('reads', () => {
    let server: PromServer;
    let prom: PromClient;

    before(async () => {
        server = await PromServer.start({ config: { stale_after_ms: 3_600_000 } });
        prom = new PromClient(server.url);
    });
    after(async () => {
        await server.dispose();
    });

    it('reads its own write with after, then revalidates the cached copy with If-None-Match', async () => {
        const r = await prom.publish(state('p1'));
        const first = await prom.snap<Process>('processes', 'p1', { after: r, wait: 10 });
        assert.equal(first.body.processId, 'p1');
        assert.equal(first.body._key, 'p1');
        assert.equal(first.fromCache, false);
        assert.match(first.etag, /^"[0-9a-f]+"$/);
        const second = await prom.snap<Process>('processes', 'p1');
        assert.equal(second.fromCache, true, 'the server answered 304');
        assert.equal(second.etag, first.etag);
        assert.deepEqual(second.body, first.body);
        // Each answer is the caller's own: changing one changes no later answer.
        first.body.status = 'changed here';
        second.body.status = 'changed here too';
        const third = await prom.snap<Process>('processes', 'p1');
        assert.equal(third.fromCache, true);
        assert.equal(third.body.status, 'alive');
    });

    it('says gone with the horizon when retention dropped what a publish or read needs', async () => {
        await prom.publishBatch([
            { topic: 'g', key: 'k', ts: 1000, payload: 1 },
            { topic: 'g', key: 'k', ts: 2000, payload: 2 },
        ]);
        const admin = { 'content-type': 'application/json' };
        let r = await fetch(`${server.url}/topics/g/policy`, {
            method: 'PUT', headers: admin, body: JSON.stringify({ retain: { max_events: 1 } }),
        });
        assert.ok(r.ok, await r.text());
        r = await fetch(`${server.url}/topics/g/compact`, { method: 'POST', headers: admin, body: '{}' });
        assert.ok(r.ok, await r.text());
        await assert.rejects(prom.publish({ topic: 'g', key: 'k', ts: 500, payload: 3 }), (e: unknown) => {
            assert.ok(e instanceof GoneError, String(e));
            assert.equal(e.status, 410);
            assert.equal(typeof e.horizon, 'number');
            assert.equal(e.horizon, e.body['horizon']);
            return true;
        });
    });

    it('sees a change once the ETag differs, and can skip the cache', async () => {
        await prom.publish(state('p2'), { waitFor: 'processes', wait: 10 });
        const before = await prom.snap<Process>('processes', 'p2');
        const r = await prom.publish(state('p2', 'busy'), { waitFor: 'processes', wait: 10 });
        assert.equal(r.topic, 'process.state');
        const changed = await prom.snap<Process>('processes', 'p2');
        assert.equal(changed.fromCache, false);
        assert.notEqual(changed.etag, before.etag);
        assert.equal(changed.body.status, 'busy');
        const uncached = await prom.snap<Process>('processes', 'p2', { cache: false });
        assert.equal(uncached.fromCache, false);
    });

    it('holds a blocking read until the document changes', async () => {
        await prom.publish(state('p3'), { waitFor: 'processes', wait: 10 });
        const seen = await prom.snap<Process>('processes', 'p3');
        const held = prom.snap<Process>('processes', 'p3', { waitForChange: 10 });
        await new Promise((r) => setTimeout(r, 200));
        await prom.publish(state('p3', 'stopping'));
        const changed = await held;
        assert.equal(changed.fromCache, false);
        assert.equal(changed.body.status, 'stopping');
        assert.notEqual(changed.etag, seen.etag);
    });

    it('throws NotFoundError for an unknown key', async () => {
        await assert.rejects(prom.snap('processes', 'nobody'), (e: unknown) => {
            assert.ok(e instanceof NotFoundError);
            assert.equal(e.status, 404);
            assert.equal(e.message, 'no such document');
            return true;
        });
    });

    it('throws NoProjectorError when after names a topic no projector of the collection reads', async () => {
        await assert.rejects(prom.snap('processes', 'p1', { after: 'orders:1' }), (e: unknown) => {
            assert.ok(e instanceof NoProjectorError);
            assert.equal(e.status, 422);
            assert.match(e.message, /orders/);
            return true;
        });
        await assert.rejects(prom.snap('processes', 'p1', { after: 'process.state:1', wait: 99 }), BadRequestError);
    });

    it('lists a collection with filters, offsets and limits', async () => {
        await prom.publishBatch([state('l1', 'stale'), state('l2', 'stale'), state('l3')], { waitFor: 'processes', wait: 10 });
        const stale = await prom.list<Process>('processes', { where: { status: 'stale' } });
        assert.deepEqual(stale.items.map((d) => d._key).sort(), ['l1', 'l2']);
        assert.equal(stale.count, 2);
        assert.equal(stale.offset, 0);
        const one = await prom.list<Process>('processes', { where: { status: 'stale' }, limit: 1, offset: 1 });
        assert.equal(one.items.length, 1);
        assert.equal(one.limit, 1);
        assert.ok(one.etag !== null);
        await assert.rejects(prom.list('processes', { limit: 0 }), BadRequestError);
    });

    it('reads the state of a key at an instant', async () => {
        const a = await prom.publish({ topic: 'prices', key: 'eur', payload: { v: 1 }, ts: 1_700_000_000_000 });
        await prom.publish({ topic: 'prices', key: 'eur', payload: { v: 2 }, ts: 1_700_000_010_000 });
        const then = await prom.at('prices', 'eur', 1_700_000_005_000);
        assert.deepEqual(then, { seq: a.seq, state: { v: 1 }, ts: 1_700_000_000_000 });
        const now = await prom.at('prices', 'eur', new Date(1_700_000_020_000));
        assert.deepEqual(now.state, { v: 2 });
        const iso = await prom.at('prices', 'eur', '2023-11-14T22:13:25Z');
        assert.deepEqual(iso.state, { v: 1 });
        await assert.rejects(prom.at('prices', 'eur', 1_600_000_000_000), NotFoundError);
    });
});
