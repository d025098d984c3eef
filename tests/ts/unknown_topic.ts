// Must NOT compile: no schema names this topic.
import { withTopics } from './gen/topics.js';

const client = withTopics({ publish: async (event: { topic: string; payload: unknown }) => event });
void client.topic('heartbeat.recieved').publish({ pid: 1, name: 'api', host: 'web-1' });
