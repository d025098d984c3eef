// Options and arguments the client refuses before it sends anything: each would otherwise
// reach the server as something else than the caller meant, or loop for ever. No server:
// the URL is a closed port, so anything sent would fail with a NetworkError instead.

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';

import { BadRequestError, PromClient, type ClientOptions } from '../src/index.js';

const url = 'http://127.0.0.1:1';

// An option that is let through by mistake can leave a subscription reconnecting for ever,
// which would keep this file's process alive. Unref'd: a clean run ends before it fires.
after(() => {
    setTimeout(() => process.exit(), 3000).unref();
});

describe('subscription options', () => {
    it('refuses a high-water mark that is not a whole number >= 1', () => {
        // Found from outside: 0, -1, 1.5 and NaN were taken (and read as 1).
        const prom = new PromClient({ url });
        for (const highWaterMark of [0, -1, 1.5, NaN, Infinity]) {
            assert.throws(() => prom.subscribe('t', { highWaterMark }), /^RangeError: highWaterMark must be a whole number/);
        }
    });
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

describe('server URL', () => {
    it('refuses at construction a URL that is not http: or https: with a host', () => {
        // Found from outside: 'localhost:46100' (a URL of the scheme `localhost:`) made
        // publishes retry, then fail with "fetch failed (unknown scheme)", and subscribe()
        // with a ProtocolError; {} failed with "Cannot read properties of undefined".
        for (const bad of ['localhost:46100', '127.0.0.1:8091', 'ftp://h/', 'ws://127.0.0.1:8091', 'http://', '', 'not a url']) {
            assert.throws(() => new PromClient(bad), (e: unknown) => {
                assert.ok(e instanceof TypeError, `${bad}: ${String(e)}`);
                assert.match(e.message, /http: or https: URL/);
                return true;
            });
            assert.throws(() => new PromClient({ url: bad }), TypeError);
        }
        assert.throws(() => new PromClient({} as ClientOptions), /url must be/);
        assert.throws(() => new PromClient(undefined as unknown as string), /url must be/);
        assert.throws(() => new PromClient({ url: 8091 } as unknown as ClientOptions), /url must be/);
        assert.throws(() => new PromClient('http://127.0.0.1:8091/?x=1'), /query/);
        assert.throws(() => new PromClient('http://me:secret@127.0.0.1:8091'), /token/);
    });

    it('keeps a valid URL without its trailing slash, a path prefix included', () => {
        assert.equal(new PromClient('http://127.0.0.1:8091/').url, 'http://127.0.0.1:8091');
        const behindProxy = new PromClient({ url: 'https://prom.internal:8443/prom/' });
        assert.equal(behindProxy.url, 'https://prom.internal:8443/prom');
        assert.equal(behindProxy.wsUrl, 'wss://prom.internal:8443/prom/ws');
    });
});
