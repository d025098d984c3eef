// Compiles against the types `prom gen ts` wrote into ./gen, then checks the runtime
// validators when run: the exit code says whether every check held.
import { PayloadError, validatePayload, withTopics, type TopicPayloads } from './gen/topics.js';

// Node's globals, without @types/node.
declare const console: { error(...args: unknown[]): void };
declare const process: { exitCode?: number };

interface SentEvent {
    topic: string;
    payload: unknown;
    key?: string;
}

// Any client with this publish shape works (the @prom/client PromClient has it).
class RecordingClient {
    readonly sent: SentEvent[] = [];
    async publish(event: SentEvent, options?: { waitFor?: string }): Promise<{ seq: number; waited: boolean }> {
        this.sent.push(event);
        return { seq: this.sent.length, waited: options?.waitFor !== undefined };
    }
}

function expect(what: string, ok: boolean): void {
    if (!ok) {
        console.error(`FAILED: ${what}`);
        process.exitCode = 1;
    }
}

async function main(): Promise<void> {
    const client = withTopics(new RecordingClient());
    const pid = 42;
    const name = 'api';
    const host = 'web-1';
    const answer = await client
        .topic('heartbeat.received')
        .publish({ pid, name, host, cpu_pct: 3.5, mem_mb: null }, { key: 'web-1:api:42' }, { waitFor: 'processes' });
    expect('publish resolves with the client answer', answer.seq === 1 && answer.waited);
    expect('the event went out with its topic and key',
        client.sent[0]?.topic === 'heartbeat.received' && client.sent[0]?.key === 'web-1:api:42');

    const state: TopicPayloads['process.state'] = { processId: 'web-1:api:42', host, status: 'stale' };
    expect('a process.state payload is valid', validatePayload('process.state', state) === null);

    const missing = validatePayload('heartbeat.received', { pid, name });
    expect('a missing field points at it', missing?.path === '/payload/host');
    const wrongType = validatePayload('heartbeat.received', { pid: true, name, host });
    expect('a wrong type points at it', wrongType?.path === '/payload/pid');
    expect('an enum is checked', validatePayload('process.state', { processId: 'p', host, status: 'gone' })?.path ===
        '/payload/status');
    expect('is() narrows', client.topic('heartbeat.received').is({ pid: 'x', name, host }));

    // What the type checker would refuse is refused at run time too, and nothing is sent.
    const untyped: any = { pid, name };
    try {
        await client.topic('heartbeat.received').publish(untyped);
        expect('an invalid payload is refused', false);
    } catch (e) {
        expect('PayloadError with the path', e instanceof PayloadError && e.path === '/payload/host');
    }
    expect('nothing more was sent', client.sent.length === 1);
}

main().catch((e) => {
    console.error(e);
    process.exitCode = 1;
});
