// Watches (SSE, docs/watches.md) against a real server: a change of a watched key, prefixes,
// resuming with lastEventId, the reconnect after a server restart, refused watches.

import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';

import { createServer } from 'node:net';

import { BadRequestError, NetworkError, PromClient, type Watch, type WatchChange } from '../src/index.js';
import { PromServer } from './server.js';

interface Process {
    processId: string;
    status: string;
}

function state(processId: string, status = 'alive') {
    return { topic: 'process.state', key: processId, payload: { processId, host: 'h1', status } };
}

async function take<D>(w: Watch<D>, n: number, ms = 15000): Promise<WatchChange<D>[]> {
    const it = w[Symbol.asyncIterator]();
    const out: WatchChange<D>[] = [];
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`only ${out.length} of ${n} changes`)), ms);
    });
    try {
        while (out.length < n) {
            const next = await Promise.race([it.next(), timeout]);
            if (next.done) throw new Error(`the watch ended after ${out.length} of ${n} changes`);
            out.push(next.value);
        }
    } finally {
        clearTimeout(timer);
    }
    return out;
}

describe('watch', () => {
    let server: PromServer;
    let prom: PromClient;
    let routeExists = false;

    before(async () => {
        server = await PromServer.start({ config: { stale_after_ms: 3_600_000 } });
        prom = new PromClient({ url: server.url, retry: { baseDelayMs: 50, maxDelayMs: 300 } });
        // The watch route came with issue 13; against a server without it these tests skip.
        const probe = await fetch(`${server.url}/collections/processes/watch?key=probe`, {
            signal: AbortSignal.timeout(2000),
        }).catch(() => null);
        routeExists = probe !== null && probe.status !== 404;
        await probe?.body?.cancel();
    });
    after(async () => {
        await server.dispose();
        // A test that failed before its close() leaves a subscription reconnecting for ever,
        // which kept this file's process, and the whole run, alive until ctest's timeout
        // (found in CI). Unref'd: a clean run ends before it fires.
        setTimeout(() => process.exit(), 3000).unref();
    });

    const needsRoute = (t: TestContext) => {
        if (!routeExists) t.skip('this prom serve has no GET /collections/{c}/watch');
        return routeExists;
    };

    it('streams the changes of one key, with the body and ETag a snap answers', async (t) => {
        if (!needsRoute(t)) return;
        const w = prom.watch<Process>('processes', { key: 'w1' });
        await w.ready();
        await prom.publish(state('other'));
        await prom.publish(state('w1'));
        const [c] = await take(w, 1);
        assert.equal(c?.key, 'w1');
        assert.equal(c?.kind, 'put');
        assert.equal(c?.collection, 'processes');
        assert.equal(c?.body?.processId, 'w1');
        const snap = await prom.snap('processes', 'w1');
        assert.equal(c?.etag, snap.etag);
        assert.match(c?.id ?? '', /^\d+$/);
        assert.equal(w.lastEventId, c?.id);
        w.close();
    });

    it('watches every key with a prefix', async (t) => {
        if (!needsRoute(t)) return;
        const w = prom.watch<Process>('processes', { prefix: 'pre-' });
        await w.ready();
        await prom.publishBatch([state('pre-a'), state('nope'), state('pre-b')]);
        const got = await take(w, 2);
        assert.deepEqual(got.map((c) => c.key).sort(), ['pre-a', 'pre-b']);
        w.close();
    });

    it('resumes after lastEventId: exactly the changes it missed', async (t) => {
        if (!needsRoute(t)) return;
        const first = prom.watch<Process>('processes', { key: 'r1' });
        await first.ready();
        await prom.publish(state('r1', 'one'));
        const [seen] = await take(first, 1);
        first.close();
        await prom.publish(state('r1', 'two'), { waitFor: 'processes', wait: 10 });
        await prom.publish(state('r1', 'three'), { waitFor: 'processes', wait: 10 });
        const again = prom.watch<Process>('processes', { key: 'r1' }, { lastEventId: seen?.id ?? '' });
        const missed = await take(again, 2);
        assert.deepEqual(
            missed.map((c) => c.body?.status),
            ['two', 'three'],
        );
        assert.ok(Number(missed[0]?.id) > Number(seen?.id));
        again.close();
    });

    it('lastEventId is where the caller stands, not how far the stream was read', async (t) => {
        if (!needsRoute(t)) return;
        // Found from outside: with 20 changes buffered and 2 taken it answered the 20th,
        // and a watch resumed from it lost 3 to 20.
        const w = prom.watch<Process>('processes', { prefix: 'buf-' });
        await w.ready();
        const start = w.lastEventId;
        assert.match(start ?? '', /^\d+$/, 'known once ready() resolves');
        const keys = Array.from({ length: 20 }, (_, i) => `buf-${String(i).padStart(2, '0')}`);
        await prom.publishBatch(keys.map((k) => state(k)), { waitFor: 'processes', wait: 10 });
        await new Promise((r) => setTimeout(r, 300)); // the stream reads ahead meanwhile
        const taken = await take(w, 2);
        assert.equal(w.lastEventId, taken[1]?.id);
        w.close();
        const resumed = prom.watch<Process>('processes', { prefix: 'buf-' }, { lastEventId: w.lastEventId });
        const rest = await take(resumed, 18);
        assert.deepEqual(
            [...taken, ...rest].map((c) => c.key),
            keys,
        );
        resumed.close();
    });

    it('close() ends the iterator at once, dropping the changes buffered', async (t) => {
        if (!needsRoute(t)) return;
        // Found from outside: a watch yielded its 39 buffered changes after close().
        const w = prom.watch<Process>('processes', { prefix: 'shut-' });
        await w.ready();
        const keys = Array.from({ length: 20 }, (_, i) => `shut-${i}`);
        await prom.publishBatch(keys.map((k) => state(k)), { waitFor: 'processes', wait: 10 });
        await take(w, 1);
        await new Promise((r) => setTimeout(r, 300)); // the stream reads ahead meanwhile
        const it = w[Symbol.asyncIterator]();
        w.close();
        assert.equal((await it.next()).done, true, 'nothing after close()');
        const before = w.lastEventId;
        assert.equal((await it.next()).done, true);
        assert.equal(w.lastEventId, before, 'no change handed out after close()');
    });

    it('reconnects after the server restarts and misses no change', async (t) => {
        if (!needsRoute(t)) return;
        const w = prom.watch<Process>('processes', { key: 'k1' });
        await w.ready();
        await prom.publish(state('k1', 'before'));
        const [before] = await take(w, 1);
        assert.equal(before?.body?.status, 'before');
        await server.stop('SIGKILL');
        await server.restart({ stale_after_ms: 3_600_000 });
        // Published at once: the watch may not be back yet, Last-Event-ID brings it anyway.
        await prom.publish(state('k1', 'after'));
        const [next] = await take(w, 1, 20000);
        assert.equal(next?.body?.status, 'after');
        assert.ok(Number(next?.id) > Number(before?.id));
        w.close();
    });

    it('a watch that gives up names why its stream was lost', async () => {
        // Found from outside: it said only "the watch stream was lost", where a subscription
        // in the same place names the refused connection.
        const closedPort = await new Promise<number>((resolve) => {
            const probe = createServer().listen(0, '127.0.0.1', () => {
                const { port } = probe.address() as { port: number };
                probe.close(() => resolve(port));
            });
        });
        const nowhere = new PromClient(`http://127.0.0.1:${closedPort}`);
        for (const reconnect of [false, { attempts: 2, baseDelayMs: 10 }]) {
            const w = nowhere.watch('processes', {}, { reconnect });
            await assert.rejects(w[Symbol.asyncIterator]().next(), (e: unknown) => {
                assert.ok(e instanceof NetworkError);
                assert.match(e.message, /^the watch stream was lost: GET \/collections\/processes\/watch: .*ECONNREFUSED/);
                assert.ok(e.cause instanceof NetworkError, 'the failure it gave up after is its cause');
                return true;
            });
        }
    });

    it('surfaces a refused watch as a typed error, without reconnecting', async (t) => {
        if (!needsRoute(t)) return;
        const bad = prom.watch('processes', { key: 'x' }, { lastEventId: 'not-a-number' });
        await assert.rejects(bad[Symbol.asyncIterator]().next(), (e: unknown) => {
            assert.ok(e instanceof BadRequestError);
            assert.equal(e.status, 400);
            assert.match(e.message, /Last-Event-ID/);
            return true;
        });
    });
});
