// Options and arguments the client refuses before it sends anything: each would otherwise
// reach the server as something else than the caller meant, or loop for ever. No server:
// the URL is a closed port, so anything sent would fail with a NetworkError instead.

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';

import { BadRequestError, PromClient } from '../src/index.js';

const url = 'http://127.0.0.1:1';

// An option that is let through by mistake can leave a subscription reconnecting for ever,
// which would keep this file's process alive. Unref'd: a clean run ends before it fires.
after(() => {
    setTimeout(() => process.exit(), 3000).unref();
});

describe('retry options', () => {
    it('refuses attempts and delays that are not numbers in range', () => {
        // Found from outside: {attempts: NaN} retried for ever (Math.max(1, NaN) is NaN).
        for (const attempts of [NaN, Infinity, -1, 0, 1.5]) {
            assert.throws(() => new PromClient({ url, retry: { attempts } }), (e: unknown) => {
                assert.ok(e instanceof RangeError);
                assert.match(e.message, /^retry\.attempts must be a whole number >= 1/);
                return true;
            });
        }
        for (const ms of [NaN, Infinity, -1]) {
            assert.throws(() => new PromClient({ url, retry: { baseDelayMs: ms } }), /retry\.baseDelayMs/);
            assert.throws(() => new PromClient({ url, retry: { maxDelayMs: ms } }), /retry\.maxDelayMs/);
        }
        new PromClient({ url, retry: { attempts: 1, baseDelayMs: 0, maxDelayMs: 0.5 } });
    });

    it('refuses the same in a subscription\'s and a watch\'s reconnect options', () => {
        const prom = new PromClient(url);
        assert.throws(() => prom.subscribe('t', { reconnect: { attempts: NaN } }), /^RangeError: reconnect\.attempts/);
        assert.throws(() => prom.watch('c', {}, { reconnect: { baseDelayMs: -5 } }), /^RangeError: reconnect\.baseDelayMs/);
        const sub = prom.subscribe('t', { reconnect: { attempts: 2, baseDelayMs: 0 } });
        sub.close();
    });
});

describe('list where', () => {
    it('refuses a filter named like a parameter of the list route', async () => {
        // Found from outside: where: {limit: 2} replaced the limit, {wait: 3} lost the filter
        // and {after: 'x'} failed with an unrelated error.
        const prom = new PromClient(url);
        for (const name of ['offset', 'limit', 'after', 'wait']) {
            await assert.rejects(prom.list('c', { where: { [name]: 2 } }), (e: unknown) => {
                assert.ok(e instanceof BadRequestError, `${name}: ${String(e)}`);
                assert.equal(e.status, 0);
                assert.match(e.message, new RegExp(`cannot filter on '${name}'`));
                return true;
            });
        }
    });
});

describe('snap waitForChange', () => {
    it('refuses a hold that is not whole seconds from 1 to 60', async () => {
        // Found from outside: 1.5 and 0 were sent as `Prefer: wait=1.5`, which the server
        // ignores (docs/http-api.md, "Blocking reads"), so the read did not wait.
        const prom = new PromClient(url);
        for (const waitForChange of [1.5, 0, -1, 61, NaN, Infinity]) {
            await assert.rejects(prom.snap('c', 'k', { waitForChange }), (e: unknown) => {
                assert.ok(e instanceof RangeError, `${waitForChange}: ${String(e)}`);
                assert.match(e.message, /^waitForChange must be whole seconds from 1 to 60/);
                return true;
            });
        }
    });
});
