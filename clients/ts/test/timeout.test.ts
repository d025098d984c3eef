// A server that accepts connections and never answers: every HTTP call of the client fails
// with TimeoutError after timeoutMs (plus the wait it asked the server for) instead of
// hanging; a caller's own abort stays an abort; publishes safe to repeat are retried, and a
// watch whose stream never opens reconnects, and one whose stream goes quiet resumes; the
// same for a subscription's WebSocket. Also with a fake server: a watch answered 503
// `unavailable` tries again.

import assert from 'node:assert/strict';
import { createServer as createHttpServer, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';

import { WebSocketServer, type WebSocket } from 'ws';

import { NetworkError, PromClient, TimeoutError } from '../src/index.js';

describe('timeoutMs', () => {
    let server: Server;
    let url = '';
    let connections = 0;
    let upgrades = 0;  // WebSocket upgrade requests among them
    const sockets: Socket[] = [];

    before(async () => {
        server = createServer((s) => {
            ++connections;
            sockets.push(s);
            s.on('data', (chunk: Buffer) => {  // reads the request, answers nothing
                if (/^upgrade: websocket\r$/im.test(chunk.toString('latin1'))) ++upgrades;
            });
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

    it('reconnects a subscription whose gateway never answers, then gives up as its reconnect says', async () => {
        const client = new PromClient({ url, timeoutMs: 150 });
        const before = upgrades;
        const sub = client.subscribe('t', { group: 'g', reconnect: { attempts: 2, baseDelayMs: 10, maxDelayMs: 20 } });
        await assert.rejects(sub.ready(), (e: unknown) => {
            assert.ok(e instanceof NetworkError, String(e));
            assert.match((e as Error).message, /no answer from the gateway within 150 ms/);
            return true;
        });
        assert.equal(upgrades - before, 2);
    });

    it('refuses a timeout that is not a number of milliseconds', () => {
        assert.throws(() => new PromClient({ url, timeoutMs: -1 }), RangeError);
    });
});

// A watch stream that opens, says where it starts, then sends nothing: with `quiet`, not
// even keep-alives (a connection that died without a word); otherwise a keep-alive comment
// every 40 ms, as prom sends one every 15 s.
describe('idleTimeoutMs', () => {
    let server: HttpServer;
    let url = '';
    let keepAlives = false;
    const requests: (string | undefined)[] = [];  // each watch request's Last-Event-ID
    const open: ServerResponse[] = [];

    before(async () => {
        server = createHttpServer((req, res) => {
            requests.push(req.headers['last-event-id'] as string | undefined);
            res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
            res.write(': watching changes after 41\nretry: 10\nid: 41\n\n');
            open.push(res);
            if (keepAlives) {
                const timer = setInterval(() => res.write(': keep-alive\n\n'), 40);
                res.on('close', () => clearInterval(timer));
            }
        });
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
        const address = server.address();
        if (address === null || typeof address === 'string') throw new Error('no port');
        url = `http://127.0.0.1:${address.port}`;
    });
    after(async () => {
        for (const r of open) r.destroy();
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    it('reconnects a stream that goes quiet, from where it was', async () => {
        keepAlives = false;
        requests.length = 0;
        const client = new PromClient({ url });
        const watch = client.watch('processes', {}, { idleTimeoutMs: 150 });
        await watch.ready();
        const started = Date.now();
        while (requests.length < 3 && Date.now() - started < 5000) await sleep(20);
        watch.close();
        assert.ok(requests.length >= 3, `${requests.length} requests`);
        assert.equal(requests[0], undefined);
        assert.equal(requests[1], '41');  // resumes from the position the stream opened with
        assert.equal(requests[2], '41');
    });

    it('keeps a quiet stream that sends its keep-alives', async () => {
        keepAlives = true;
        requests.length = 0;
        const client = new PromClient({ url });
        const watch = client.watch('processes', {}, { idleTimeoutMs: 500 });
        await watch.ready();
        await sleep(1500);
        watch.close();
        assert.equal(requests.length, 1);
    });

    it('keeps a silent stream open for ever with idleTimeoutMs 0', async () => {
        keepAlives = false;
        requests.length = 0;
        const client = new PromClient({ url, timeoutMs: 100 });
        const watch = client.watch('processes', {}, { idleTimeoutMs: 0 });
        await watch.ready();
        await sleep(400);
        watch.close();
        assert.equal(requests.length, 1);
    });

    it('refuses an idle limit that is not a number of milliseconds', () => {
        const client = new PromClient({ url });
        assert.throws(() => client.watch('processes', {}, { idleTimeoutMs: -5 }), RangeError);
        assert.throws(() => client.watch('processes', {}, { idleTimeoutMs: Number.NaN }), RangeError);
    });
});

// A watch whose first request the server answers `503 unavailable` (a busy database):
// the watch tries again, as after a lost connection, instead of ending.
describe('watch after 503 unavailable', () => {
    let server: HttpServer;
    let url = '';
    let requests = 0;

    before(async () => {
        server = createHttpServer((_req, res) => {
            if (++requests === 1) {
                res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' });
                res.end('{"error":"unavailable","message":"the database is busy"}');
                return;
            }
            res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
            res.write('retry: 10\nid: 41\n\nid: 42\ndata: {"collection":"processes","key":"k","seq":42,"ts":1,"body":{},"etag":"\\"e\\""}\n\n');
            res.end();
        });
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
        const address = server.address();
        if (address === null || typeof address === 'string') throw new Error('no port');
        url = `http://127.0.0.1:${address.port}`;
    });
    after(async () => {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    it('tries again instead of ending', async () => {
        const client = new PromClient({ url, retry: { baseDelayMs: 10, maxDelayMs: 20 } });
        const watch = client.watch('processes', {}, { reconnect: { attempts: 3, baseDelayMs: 10 } });
        const first = await watch[Symbol.asyncIterator]().next();
        watch.close();
        assert.equal(first.done, false);
        assert.equal(first.value?.id, '42');
        assert.equal(requests, 2);
    });
});

// A gateway that confirms every subscription, then sends nothing: with `frozen`, it stops
// reading too (a server that hangs, or a cut network: the client's pings get no pong);
// otherwise it answers pings, as prom does.
describe('subscription idleTimeoutMs', () => {
    let server: WebSocketServer;
    let url = '';
    let frozen = false;
    let burst = 0;
    let subscribes = 0;
    const sockets: WebSocket[] = [];

    before(async () => {
        server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
        server.on('connection', (ws) => {
            sockets.push(ws);
            ws.on('message', (data) => {
                const frame = JSON.parse(String(data)) as { op: string; id: string; topic: string; group?: string };
                if (frame.op !== 'subscribe') return;
                ++subscribes;
                ws.send(JSON.stringify({ op: 'subscribed', id: frame.id, topic: frame.topic, group: frame.group ?? '' }));
                for (let seq = 1; seq <= burst; ++seq) {
                    const event = { topic: frame.topic, key: 'k', id: `e${seq}`, seq, ts: seq, payload: { n: seq } };
                    ws.send(JSON.stringify({ op: 'events', topic: frame.topic, group: frame.group ?? '', events: [event] }));
                }
                if (frozen) (ws as unknown as { _socket: { pause(): void } })._socket.pause();
            });
        });
        await new Promise<void>((resolve) => server.once('listening', () => resolve()));
        const address = server.address();
        if (address === null || typeof address === 'string') throw new Error('no port');
        url = `http://127.0.0.1:${address.port}`;
    });
    after(async () => {
        for (const s of sockets) s.terminate();
        await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    it('drops a connection that stops answering and subscribes again', async () => {
        frozen = true;
        subscribes = 0;
        const client = new PromClient({ url });
        const sub = client.subscribe('t', { group: 'g', idleTimeoutMs: 200, reconnect: { baseDelayMs: 10, maxDelayMs: 20 } });
        await sub.ready();
        const started = Date.now();
        while (subscribes < 3 && Date.now() - started < 5000) await sleep(20);
        sub.close();
        assert.ok(subscribes >= 3, `${subscribes} subscribes`);
    });

    it('keeps a quiet connection that answers its pings', async () => {
        frozen = false;
        subscribes = 0;
        const client = new PromClient({ url });
        const sub = client.subscribe('t', { group: 'g', idleTimeoutMs: 500 });
        await sub.ready();
        await sleep(1500);
        assert.ok(sub.connected);
        sub.close();
        assert.equal(subscribes, 1);
    });

    it('does not take a connection it stopped reading (a slow consumer) as dead', async () => {
        frozen = false;
        subscribes = 0;
        burst = 50;  // events sent right after `subscribed`, over the buffer's high-water mark
        const client = new PromClient({ url });
        const sub = client.subscribe('t', { group: 'g', idleTimeoutMs: 300, highWaterMark: 2 });
        try {
            await sub.ready();
            await sleep(1200); // nothing taken: the socket stays paused, its pongs unread
            assert.equal(subscribes, 1);
            let taken = 0;
            for await (const d of sub) {
                assert.equal(d.seq, ++taken);
                if (taken === 50) break;
            }
        } finally {
            sub.close();
            burst = 0;
        }
    });

    it('refuses an idle limit that is not a number of milliseconds', () => {
        const client = new PromClient({ url });
        assert.throws(() => client.subscribe('t', { idleTimeoutMs: -1 }), RangeError);
    });
});

function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
}
