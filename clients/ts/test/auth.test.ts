// Tokens: the client sends its bearer token on HTTP requests and on the WebSocket upgrade,
// and the server's 401 and 403 come back as typed errors.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { ForbiddenError, PromClient, UnauthorizedError } from '../src/index.js';
import { PromServer } from './server.js';

describe('tokens', () => {
    let server: PromServer;

    before(async () => {
        server = await PromServer.start({
            config: {
                projectors: [],
                auth: {
                    tokens: [
                        { token: 'writer-secret-1', name: 'writer', publish: ['orders'], subscribe: ['orders'], read: ['*'] },
                        { token: 'reader-secret-1', name: 'reader', read: ['*'] },
                    ],
                },
            },
        });
    });
    after(async () => {
        await server.dispose();
    });

    it('publishes and subscribes with a token that allows it', async () => {
        const writer = new PromClient({ url: server.url, token: 'writer-secret-1' });
        const r = await writer.publish({ topic: 'orders', key: 'o', payload: 1 });
        assert.equal(r.seq, 1);
        const sub = writer.subscribe('orders', { group: 'g' });
        const next = await sub[Symbol.asyncIterator]().next();
        assert.equal(next.value?.seq, 1);
        sub.close();
    });

    it('turns a missing or unknown token into UnauthorizedError, over HTTP and the gateway', async () => {
        const anonymous = new PromClient(server.url);
        // A token read from an unset variable is no token: the documented usage compiles
        // under exactOptionalPropertyTypes (found from outside) and sends none.
        const unset = new PromClient({ url: server.url, token: process.env['PROM_TOKEN_NEVER_SET'] });
        await assert.rejects(unset.publish({ topic: 'orders', payload: 1 }), UnauthorizedError);
        await assert.rejects(anonymous.publish({ topic: 'orders', payload: 1 }), (e: unknown) => {
            assert.ok(e instanceof UnauthorizedError);
            assert.equal(e.status, 401);
            return true;
        });
        const wrong = new PromClient({ url: server.url, token: 'not-a-known-token' });
        await assert.rejects(wrong.snap('processes', 'x'), UnauthorizedError);
        const sub = wrong.subscribe('orders', { group: 'g' });
        await assert.rejects(sub[Symbol.asyncIterator]().next(), UnauthorizedError);
    });

    it('turns a missing permission into ForbiddenError, over HTTP and the gateway', async () => {
        const reader = new PromClient({ url: server.url, token: 'reader-secret-1' });
        await assert.rejects(reader.publish({ topic: 'orders', payload: 1 }), (e: unknown) => {
            assert.ok(e instanceof ForbiddenError);
            assert.equal(e.status, 403);
            assert.equal(e.code, 'forbidden');
            return true;
        });
        const sub = reader.subscribe('orders', { group: 'g' });
        await assert.rejects(sub[Symbol.asyncIterator]().next(), ForbiddenError);
    });
});
