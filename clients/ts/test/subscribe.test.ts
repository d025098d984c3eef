// Subscriptions over the WebSocket gateway against a real server: delivery in seq order,
// manual acks and the group's durable cursor, ephemeral subscriptions, and the reconnect
// after the server went away.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { BadRequestError, NetworkError, PromClient, TooManyError, type Delivery, type Subscription } from '../src/index.js';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

import { PromServer, promBinary } from './server.js';

/** Takes the next `n` deliveries of a subscription (its iterator stays usable). */
async function take<P>(it: AsyncIterator<Delivery<P>>, n: number, ms = 10000): Promise<Delivery<P>[]> {
    const out: Delivery<P>[] = [];
    const deadline = setTimeout(() => {}, ms);
    try {
        while (out.length < n) {
            const next = await Promise.race([
                it.next(),
                new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`only ${out.length} of ${n} deliveries`)), ms)),
            ]);
            if (next.done) throw new Error(`the subscription ended after ${out.length} of ${n} deliveries`);
            out.push(next.value);
        }
    } finally {
        clearTimeout(deadline);
    }
    return out;
}

describe('subscribe', () => {
    let server: PromServer;
    let prom: PromClient;

    before(async () => {
        server = await PromServer.start({ config: { projectors: [] } });
        prom = new PromClient({ url: server.url, retry: { baseDelayMs: 50, maxDelayMs: 300 } });
    });
    after(async () => {
        await server.dispose();
        // A test that failed before its close() leaves a subscription reconnecting for ever,
        // which kept this file's process, and the whole run, alive until ctest's timeout
        // (found in CI). Unref'd: a clean run ends before it fires.
        setTimeout(() => process.exit(), 3000).unref();
    });

    it('delivers the events of a topic in seq order, with their fields', async () => {
        await prom.publishBatch([
            { topic: 'orders', key: 'a', payload: { n: 1 }, headers: { h: 'v' } },
            { topic: 'orders', key: 'b', payload: { n: 2 } },
        ]);
        const sub = prom.subscribe<{ n: number }>('orders', { group: 'g-order' });
        const it = sub[Symbol.asyncIterator]();
        const got = await take(it, 2);
        assert.deepEqual(
            got.map((d) => [d.seq, d.key, d.payload.n]),
            [
                [1, 'a', 1],
                [2, 'b', 2],
            ],
        );
        assert.deepEqual(got[0]?.headers, { h: 'v' });
        assert.equal(got[0]?.group, 'g-order');
        assert.equal(got[0]?.topic, 'orders');
        await prom.publish({ topic: 'orders', key: 'c', payload: { n: 3 } });
        const [third] = await take(it, 1);
        assert.equal(third?.seq, 3);
        sub.close();
        assert.equal((await it.next()).done, true, 'close() ends the iterator');
    });

    it('resumes a group at its acknowledged cursor: unacknowledged events come again', async () => {
        await prom.publishBatch([1, 2, 3].map((n) => ({ topic: 'jobs', key: `j${n}`, payload: n })));
        const first = prom.subscribe<number>('jobs', { group: 'workers', manualAck: true });
        const got = await take(first[Symbol.asyncIterator](), 3);
        await got[0]?.ack(); // only seq 1
        first.close();

        const second = prom.subscribe<number>('jobs', { group: 'workers', manualAck: true });
        const it = second[Symbol.asyncIterator]();
        const again = await take(it, 2);
        assert.deepEqual(
            again.map((d) => d.seq),
            [2, 3],
        );
        await again[1]?.ack(); // acks up to 3
        second.close();

        await prom.publish({ topic: 'jobs', key: 'j4', payload: 4 });
        const third = prom.subscribe<number>('jobs', { group: 'workers', manualAck: true });
        const [next] = await take(third[Symbol.asyncIterator](), 1);
        assert.equal(next?.seq, 4, 'acknowledged events are not delivered again');
        third.close();
    });

    it('stops reading at its high-water mark and resumes as the loop catches up, losing nothing', async () => {
        const events = Array.from({ length: 300 }, (_, i) => ({ topic: 'flood', key: `k${i % 7}`, payload: i }));
        await prom.publishBatch(events);
        const sub = prom.subscribe<number>('flood', { group: 'slow', batchSize: 10, highWaterMark: 20 });
        const seen: number[] = [];
        for await (const d of sub) {
            seen.push(d.payload);
            if (seen.length % 50 === 0) await new Promise((r) => setTimeout(r, 50)); // a slow consumer
            if (seen.length === events.length) break;
        }
        assert.deepEqual(
            seen,
            events.map((e) => e.payload),
        );
    });

    it('leaving a for-await loop ends the subscription', async () => {
        await prom.publish({ topic: 'loop', payload: 1 });
        const sub = prom.subscribe('loop', { group: 'loopers' });
        for await (const d of sub) {
            assert.equal(d.seq, 1);
            break;
        }
        assert.equal(sub.connected, false);
    });

    it('close() ends the iterator at once, dropping the deliveries buffered', async () => {
        // Found from outside: the 40 buffered deliveries were still yielded after close().
        await prom.publishBatch(Array.from({ length: 40 }, (_, i) => ({ topic: 'closing', payload: i })));
        for (const manualAck of [false, true]) {
            const sub = prom.subscribe<number>('closing', { group: `closers-${manualAck}`, manualAck });
            const it = sub[Symbol.asyncIterator]();
            await take(it, 1);
            await new Promise((r) => setTimeout(r, 200)); // the rest arrives in the buffer
            const waiting = it.next(); // already answered: a buffered delivery
            sub.close();
            assert.equal((await waiting).done, false);
            assert.equal((await it.next()).done, true, 'nothing after close()');
            assert.equal((await it.next()).done, true);
        }
    });

    it('gives every ephemeral subscriber every event and stores no cursor', async () => {
        await prom.publish({ topic: 'fanout', payload: 'x' });
        const a = prom.subscribe('fanout');
        const b = prom.subscribe('fanout');
        const [da] = await take(a[Symbol.asyncIterator](), 1);
        const [db] = await take(b[Symbol.asyncIterator](), 1);
        assert.equal(da?.seq, 1);
        assert.equal(db?.seq, 1);
        assert.equal(da?.group, '');
        await da?.ack(); // nothing to acknowledge: resolves
        a.close();
        b.close();
    });

    it('reconnects after the server restarts and the group resumes at its durable cursor', async () => {
        await prom.publishBatch([1, 2].map((n) => ({ topic: 'beats', key: 'k', payload: n })));
        const sub = prom.subscribe<number>('beats', { group: 'monitor', manualAck: true });
        const it = sub[Symbol.asyncIterator]();
        const [one, two] = await take(it, 2);
        await one?.ack();
        assert.equal(two?.seq, 2);

        await server.stop('SIGKILL'); // a crash: seq 2 was never acknowledged
        await server.restart({ projectors: [] });
        await prom.publish({ topic: 'beats', key: 'k', payload: 3 });

        const after = await take(it, 2, 20000);
        assert.deepEqual(
            after.map((d) => d.seq),
            [2, 3],
            'seq 2 again (not acknowledged), then the new event',
        );
        assert.ok(sub.connected);
        await after[1]?.ack();
        sub.close();
    });

    it('a loop that awaits its manual acks goes on past the high-water mark', async () => {
        await prom.publishBatch(Array.from({ length: 60 }, (_, i) => ({ topic: 'acked', payload: i })));
        const sub = prom.subscribe<number>('acked', { group: 'ackers', manualAck: true, batchSize: 10, highWaterMark: 5 });
        const seen: number[] = [];
        const stuck = setTimeout(() => sub.close(), 15000);
        for await (const d of sub) {
            assert.equal(await d.ack(), true);
            seen.push(d.payload);
            if (seen.length === 60) break;
        }
        clearTimeout(stuck);
        assert.equal(seen.length, 60, 'the ack replies were read while the buffer was over its mark');
    });

    it('an ack of a delivery whose connection dropped resolves to false; the event comes again', async () => {
        await prom.publishBatch([1, 2].map((n) => ({ topic: 'stale', payload: n })));
        const sub = prom.subscribe<number>('stale', { group: 'stalers', manualAck: true });
        const it = sub[Symbol.asyncIterator]();
        const [one, two] = await take(it, 2);
        assert.equal(await one?.ack(), true);
        await server.stop('SIGKILL');
        assert.equal(await two?.ack(), false, 'not connected: nothing stored, nothing thrown');
        await server.restart({ projectors: [] });
        const [again] = await take(it, 1, 20000);
        assert.equal(again?.seq, 2);
        assert.equal(await two?.ack(), false, 'an earlier connection\'s delivery is not acknowledged on this one');
        assert.equal(await again?.ack(), true);
        sub.close();
    });

    it('an ack refused because the lease passed on (a forced seek) resolves to false; the events come again', async () => {
        await prom.publishBatch([1, 2, 3].map((n) => ({ topic: 'seeked', payload: n })));
        const sub = prom.subscribe<number>('seeked', { group: 'seekers', manualAck: true });
        const it = sub[Symbol.asyncIterator]();
        const got = await take(it, 3);
        const seek = await fetch(`${server.url}/groups/seeked/seekers/seek`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({ to: 'earliest', force: true }),
        });
        assert.equal(seek.status, 200);
        assert.equal(await got[2]?.ack(), false, 'refused by the server (conflict): nothing thrown');
        const again = await take(it, 3, 20000);
        assert.deepEqual(again.map((d) => d.seq), [1, 2, 3]);
        sub.close();
    });

    it('with automatic acks, a seek back made while the connection was down is delivered again', async () => {
        await prom.publishBatch([1, 2, 3].map((n) => ({ topic: 'rewound', payload: n })));
        const sub = prom.subscribe<number>('rewound', { group: 'rewinders' });
        const it = sub[Symbol.asyncIterator]();
        assert.deepEqual((await take(it, 3)).map((d) => d.seq), [1, 2, 3]);
        await server.stop('SIGKILL');
        await server.restart({ projectors: [] });
        // Found from outside: the client skipped seqs it had seen on an earlier connection,
        // so a rewind was dropped here while the server counted it acknowledged.
        const seek = await fetch(`${server.url}/groups/rewound/rewinders/seek`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({ to: 'earliest', force: true }),
        });
        assert.equal(seek.status, 200);
        const again = await take(it, 3, 20000);
        assert.deepEqual(again.map((d) => d.seq), [1, 2, 3]);
        sub.close();
    });

    it('a pattern matching more topics than a connection may subscribe ends with TooManyError', async () => {
        await prom.publishBatch(Array.from({ length: 66 }, (_, i) => ({ topic: `wide.t${String(i).padStart(2, '0')}`, payload: i })));
        const sub = prom.subscribe<number>('wide.*', { group: 'wide' });
        const it = sub[Symbol.asyncIterator]();
        await assert.rejects(
            (async () => {
                for (;;) if ((await it.next()).done) return;
            })(),
            TooManyError,
        );
        sub.close();
    });

    it('refuses a key that no URL can carry instead of reading another path', async () => {
        await assert.rejects(prom.snap('processes', '..'), BadRequestError);
        await assert.rejects(prom.at('process.state', '.', Date.now()), BadRequestError);
    });

    it('delivers every topic of a pattern, each with its own seqs, and acks each on its topic', async () => {
        await prom.publishBatch([1, 2, 3].map((n) => ({ topic: 'pat.a', payload: n })));
        await prom.publishBatch([1, 2, 3].map((n) => ({ topic: 'pat.b', payload: n })));
        // Automatic acks: seqs repeat across topics and none is skipped.
        const auto = prom.subscribe<number>('pat.*', { group: 'pat-auto' });
        const got = await take(auto[Symbol.asyncIterator](), 6);
        assert.deepEqual(got.map((d) => `${d.topic}:${d.seq}`).sort(), [
            'pat.a:1', 'pat.a:2', 'pat.a:3', 'pat.b:1', 'pat.b:2', 'pat.b:3',
        ]);
        auto.close();
        // Manual acks name the delivery's topic, not the pattern.
        const manual = prom.subscribe<number>('pat.*', { group: 'pat-manual', manualAck: true });
        const all = await take(manual[Symbol.asyncIterator](), 6);
        for (const d of all) await d.ack();
        manual.close();
    });

    it('an ephemeral subscription from latest loses nothing across a restart', async () => {
        await prom.publish({ topic: 'live', payload: 0 });
        const sub = prom.subscribe<number>('live', { from: 'latest' });
        await sub.ready();
        const it = sub[Symbol.asyncIterator]();
        await prom.publish({ topic: 'live', payload: 1 });
        const [first] = await take(it, 1);
        assert.equal(first?.payload, 1);

        await server.stop('SIGKILL');
        await server.restart({ projectors: [] });
        // Published before the subscription is back: delivered all the same.
        await prom.publishBatch([2, 3].map((n) => ({ topic: 'live', payload: n })));
        const after = await take(it, 2, 20000);
        assert.deepEqual(after.map((d) => d.payload), [2, 3]);
        sub.close();
    });

    it('an ephemeral subscription from latest that saw no event yet loses nothing across a restart', async () => {
        await prom.publish({ topic: 'quiet', payload: 0 });
        const sub = prom.subscribe<number>('quiet', { from: 'latest' });
        await sub.ready();
        const it = sub[Symbol.asyncIterator]();
        await new Promise((r) => setTimeout(r, 300)); // the server's `started` frame arrives
        await server.stop('SIGKILL');
        // Published while the server is away (by the CLI, into its database), before the
        // subscription ever saw an event.
        for (const n of ['1', '2']) {
            execFileSync(promBinary(), ['publish', 'quiet', n, '--db', `sqlite:${join(server.dir, 'prom.db')}`]);
        }
        await server.restart({ projectors: [] });
        const after = await take(it, 2, 20000);
        assert.deepEqual(after.map((d) => d.payload), [1, 2]);
        sub.close();
    });

    it('an ephemeral pattern from latest resumes each topic where it left it across a restart', async () => {
        await prom.publishBatch([
            { topic: 'feed.a', payload: 0 },
            { topic: 'feed.b', payload: 0 },
        ]);
        const sub = prom.subscribe<number>('feed.*', { from: 'latest' });
        await sub.ready();
        const it = sub[Symbol.asyncIterator]();
        await prom.publish({ topic: 'feed.a', payload: 1 });
        const [first] = await take(it, 1);
        assert.deepEqual([first?.topic, first?.payload], ['feed.a', 1]);
        await new Promise((r) => setTimeout(r, 300)); // feed.b's `started` frame has arrived

        await server.stop('SIGKILL');
        // Published while the server is away: to a topic it saw an event of, to one it saw
        // none of, and to a topic that did not exist (new to it: from its first event).
        const db = `sqlite:${join(server.dir, 'prom.db')}`;
        for (const [topic, n] of [['feed.a', '2'], ['feed.b', '3'], ['feed.c', '4']] as const) {
            execFileSync(promBinary(), ['publish', topic, n, '--db', db]);
        }
        await server.restart({ projectors: [] });
        const after = await take(it, 3, 20000);
        assert.deepEqual(
            after.map((d) => `${d.topic}=${String(d.payload)}`).sort(),
            ['feed.a=2', 'feed.b=3', 'feed.c=4'],
        );
        sub.close();
    });

    it('surfaces a refused subscription as a typed error, without reconnecting', async () => {
        const first = prom.subscribe('dup', { group: 'g' });
        await first.ready();
        const bad = prom.subscribe('dup', { group: 'g2', batchSize: 0 });
        await assert.rejects(bad[Symbol.asyncIterator]().next(), (e: unknown) => {
            assert.equal((e as { code?: string }).code, 'bad_request');
            assert.ok(!(e instanceof NetworkError));
            return true;
        });
        await assert.rejects(bad.ready());
        assert.ok(first.connected, 'the refusal touched only its own subscription');
        first.close();
    });

    it('without reconnect, a lost connection ends the iterator with NetworkError', async () => {
        const sub: Subscription = prom.subscribe('lost', { group: 'g', reconnect: false });
        await sub.ready();
        const it = sub[Symbol.asyncIterator]();
        // The expectation is attached before the kill: a rejection nobody handles yet would
        // fail the test as an unhandled one.
        const lost = assert.rejects(it.next(), NetworkError);
        await server.stop('SIGKILL');
        try {
            await lost;
        } finally {
            await server.restart({ projectors: [] });
        }
    });

    it('throws NetworkError when the gateway cannot be reached within the reconnect attempts', async () => {
        const nowhere = new PromClient({ url: 'http://127.0.0.1:1' });
        const sub = nowhere.subscribe('x', { reconnect: { attempts: 2, baseDelayMs: 10 } });
        await assert.rejects(sub[Symbol.asyncIterator]().next(), NetworkError);
    });
});
