// A Server-Sent Events parser (the WHATWG "event stream" format): feed it text as it
// arrives, it calls back once per complete event.

export interface SseEvent {
    /** The `event:` field; `message` when absent. */
    event: string;
    data: string;
    /** The last event id when this event was dispatched (set by this or an earlier `id:`). */
    id: string | undefined;
}

export class SseParser {
    private buffer = '';
    private data: string[] = [];
    private event = '';
    /**
     * The last event id, as EventSource keeps it: set when a block ends (a blank line), from
     * its `id:` line, even in a block without data (prom starts each watch stream with one:
     * the position it resumes from). Never from a block cut off before its end: resuming
     * from that id would skip the event the block carried.
     */
    lastEventId: string | undefined;
    /** The `id:` of the block being read (WHATWG's "last event ID buffer"). */
    private idBuffer: string | undefined;
    /** The last `retry:` value, in milliseconds. */
    retryMs: number | undefined;

    /**
     * `onPosition` is called for a block with an `id:` and no data (prom opens each watch
     * stream with one: where it starts).
     */
    constructor(
        private readonly onEvent: (e: SseEvent) => void,
        private readonly onPosition?: (id: string) => void,
    ) {}

    feed(chunk: string): void {
        this.buffer += chunk;
        for (;;) {
            const m = /\r\n|\r|\n/.exec(this.buffer);
            // A lone trailing \r may be the first half of \r\n: wait for the next chunk.
            if (m === null || (m[0] === '\r' && m.index === this.buffer.length - 1)) return;
            const line = this.buffer.slice(0, m.index);
            this.buffer = this.buffer.slice(m.index + m[0].length);
            this.line(line);
        }
    }

    private line(line: string): void {
        if (line === '') {
            this.lastEventId = this.idBuffer;
            if (this.data.length > 0) {
                this.onEvent({ event: this.event === '' ? 'message' : this.event, data: this.data.join('\n'), id: this.lastEventId });
            } else if (this.lastEventId !== undefined) {
                this.onPosition?.(this.lastEventId);
            }
            this.data = [];
            this.event = '';
            return;
        }
        if (line.startsWith(':')) return; // a comment (keep-alive)
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? '' : line.slice(colon + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        switch (field) {
            case 'data':
                this.data.push(value);
                break;
            case 'event':
                this.event = value;
                break;
            case 'id':
                if (!value.includes('\u0000')) this.idBuffer = value;
                break;
            case 'retry':
                if (/^\d+$/.test(value)) this.retryMs = Number(value);
                break;
        }
    }
}
