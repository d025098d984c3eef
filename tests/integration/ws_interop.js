// Interop check: Node's `ws` package (a client nobody on this project wrote) subscribes over
// the gateway, publishes a heartbeat and waits for the derived process.state.
//   node ws_interop.js PORT    prints "ok <key>" and exits 0, or exits 1 with a reason
const WebSocket = require('ws');
const port = process.argv[2];
const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
const fail = (why) => { console.error(why); process.exit(1); };
setTimeout(() => fail('timed out'), 15000);
ws.on('error', (e) => fail(`socket error: ${e.message}`));
ws.on('open', () => {
  ws.send(JSON.stringify({op: 'subscribe', id: 's', topic: 'process.state', group: 'interop', from: 'earliest'}));
});
ws.on('message', (data, isBinary) => {
  if (isBinary) fail('binary frame');
  const m = JSON.parse(data.toString());
  if (m.op === 'subscribed') {
    ws.send(JSON.stringify({op: 'publish', id: 'p', event: {topic: 'heartbeat.received',
      payload: {pid: 42, name: 'node', host: 'interop', cpu_pct: 1, mem_mb: 2}}}));
  } else if (m.op === 'events') {
    const e = m.events.find((x) => x.key === 'interop:node:42');
    if (e && e.payload.status === 'alive') {
      console.log(`ok ${e.key}`);
      ws.close(1000);
      process.exit(0);
    }
  } else if (m.op === 'error') {
    fail(`error frame: ${m.error}: ${m.message}`);
  }
});
