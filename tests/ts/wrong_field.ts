// Must NOT compile: "hots" is no field of a heartbeat (and "host" is missing).
import { withTopics } from './gen/topics.js';

const client = withTopics({ publish: async (event: { topic: string; payload: unknown }) => event });
void client.topic('heartbeat.received').publish({ pid: 1, name: 'api', hots: 'web-1' });
