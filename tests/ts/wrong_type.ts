// Must NOT compile: a heartbeat's pid is a number or a string.
import { withTopics } from './gen/topics.js';

const client = withTopics({ publish: async (event: { topic: string; payload: unknown }) => event });
void client.topic('heartbeat.received').publish({ pid: true, name: 'api', host: 'web-1' });
