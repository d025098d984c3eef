// Compiles the generated wrapper around the real TypeScript client (clients/ts, @prom/client):
// client.topic(name).publish(payload, fields, options) with its PublishOptions and result.
import { PromClient, type PublishResult } from '@prom/client';
import { withTopics } from './gen/topics.js';

const client = withTopics(new PromClient({ url: 'http://127.0.0.1:8091' }));

export async function beat(pid: number, name: string, host: string): Promise<PublishResult> {
    return client
        .topic('heartbeat.received')
        .publish({ pid, name, host, cpu_pct: 1.5 }, { key: `${host}:${name}:${pid}` }, { waitFor: 'processes' });
}

export async function snapshot(): Promise<unknown> {
    return client.snap('processes', 'web-1:api:1');  // the client's own methods are still there
}
