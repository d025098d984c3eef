// A server that accepts connections and never answers: every HTTP call of the client fails
// with TimeoutError after timeoutMs (plus the wait it asked the server for) instead of
// hanging; a caller's own abort stays an abort; publishes safe to repeat are retried, and a
// watch whose stream never opens reconnects.

import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';

import { NetworkError, PromClient, TimeoutError } from '../src/index.js';

describe('timeoutMs', () => {
    let server: Server;
    let url = '';
    let connections = 0;
    const sockets: Socket[] = [];

    before(async () => {
        server = createServer((s) => {
            ++connections;
            sockets.push(s);
            s.on('data', () => {});  // reads the request, answers nothing
        });
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
        const address = server.address();
        if (address === null || typeof address === 'string') throw new Error('no port');
        url = `http://127.0.0.1:${address.port}`;
    });
    after(async () => {
        for (const s of sockets) s.destroy();
        await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    it('fails a read of a frozen server with TimeoutError, a NetworkError', async () => {
        const client = new PromClient({ url, timeoutMs: 200 });
        const started = Date.now();
        await assert.rejects(client.snap('processes', 'k'), (e: unknown) => {
            assert.ok(e instanceof TimeoutError, String(e));
            assert.ok(e instanceof NetworkError);
            assert.equal(e.code, 'timeout');
            assert.equal(e.timeoutMs, 200);
            assert.match(e.message, /GET \/collections\/processes\/snap\/k: no answer within 200 ms/);
            return true;
        });
        const took = Date.now() - started;
        assert.ok(took >= 190 && took < 5000, `took ${took} ms`);
    });

    it('adds the wait a request asks the server for', async () => {
        const client = new PromClient({ url, timeoutMs: 200 });
        const started = Date.now();
        await assert.rejects(client.list('processes', { after: 't:1', wait: 1 }), (e: unknown) => {
            assert.ok(e instanceof TimeoutError, String(e));
            assert.equal(e.timeoutMs, 1200);
            return true;
        });
        assert.ok(Date.now() - started >= 1150, `took ${Date.now() - started} ms`);
    });

    it('leaves a caller\'s abort an abort', async () => {
        const client = new PromClient({ url, timeoutMs: 5000 });
        const abort = new AbortController();
        setTimeout(() => abort.abort(new Error('the caller gave up')), 100);
        await assert.rejects(client.at('t', 'k', 0, { signal: abort.signal }), (e: unknown) => {
            assert.ok(!(e instanceof TimeoutError), String(e));
            return true;
        });
    });

    it('retries a publish whose events carry ids, then gives up with TimeoutError', async () => {
        const client = new PromClient({ url, timeoutMs: 100, retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 20 } });
        const before = connections;
        await assert.rejects(client.publish({ topic: 't', key: 'k', id: 'e-1', payload: {} }), TimeoutError);
        assert.equal(connections - before, 3);  // one connection per attempt: the timed-out one is dropped
    });

    it('reconnects a watch whose stream never answers, then gives up as its reconnect says', async () => {
        const client = new PromClient({ url, timeoutMs: 150 });
        const before = connections;
        const watch = client.watch('processes', {}, { reconnect: { attempts: 2, baseDelayMs: 10, maxDelayMs: 20 } });
        await assert.rejects(watch.ready(), NetworkError);
        assert.equal(connections - before, 2);
    });

    it('refuses a timeout that is not a number of milliseconds', () => {
        assert.throws(() => new PromClient({ url, timeoutMs: -1 }), RangeError);
    });
});
