// The README's ten-line program, kept here so that `tsc -p tsconfig.test.json` checks it
// compiles against the real API (it is never run by the tests). Keep the two in step.
import { PromClient } from '../../src/index.js';

const prom = new PromClient({ url: 'http://127.0.0.1:8091', token: process.env.PROM_TOKEN });
const me = { pid: process.pid, name: 'api', host: 'laptop' };
const beat = () => prom.publish({ topic: 'heartbeat.received', key: 'laptop:api', payload: me });
setInterval(() => beat().catch((e) => console.warn('heartbeat not sent:', e.message)), 1000);

for await (const change of prom.watch('processes', { key: `laptop:api:${process.pid}` })) {
    console.log(change.kind, change.body?.status, change.body?.last_seen);
}
