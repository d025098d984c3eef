// Opens a WebSocket to the gateway: with the `ws` package where it loads (Node: it can send
// the token as an Authorization header and stop reading when the consumer falls behind),
// else the platform's WebSocket (browsers, which take the token as `?token=` instead:
// docs/ws-protocol.md, "Authentication").

export interface GatewaySocket {
    send(text: string): void;
    close(code?: number, reason?: string): void;
    /** Stops / restarts reading from the network (no-ops where the platform cannot). */
    pause(): void;
    resume(): void;
    /**
     * Ends the connection at once, without the closing handshake (a server that stopped
     * answering would not answer that either); onClose gets 1006 and `reason`.
     */
    drop(reason: string): void;
    /**
     * While open, pings the server once it has been quiet for a third of `idleMs`, and drops
     * the connection when nothing at all (no frame, no pong) came for `idleMs`: a connection
     * that died without a word (a frozen server, a cut network) is noticed. A no-op where
     * the platform cannot ping (browsers), and for 0.
     */
    keepAlive(idleMs: number): void;
    readonly open: boolean;
}

export interface SocketHandlers {
    onOpen(): void;
    onMessage(text: string): void;
    /** The server answered the upgrade with an HTTP error (its status and JSON body). */
    onRefused(status: number, body: unknown): void;
    /** Once per socket, after an error or a close from either side. */
    onClose(code: number, reason: string): void;
}

type WsModule = {
    default: new (url: string, options: { headers: Record<string, string> }) => WsLike;
};
interface WsLike {
    readyState: number;
    send(data: string): void;
    close(code?: number, reason?: string): void;
    terminate(): void;
    ping(): void;
    pause(): void;
    resume(): void;
    on(event: 'open' | 'pong', cb: () => void): void;
    on(event: 'message', cb: (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => void): void;
    on(event: 'close', cb: (code: number, reason: Buffer) => void): void;
    on(event: 'error', cb: (err: Error) => void): void;
    on(event: 'unexpected-response', cb: (req: { destroy(): void }, res: IncomingAnswer) => void): void;
}
interface IncomingAnswer {
    statusCode?: number;
    setEncoding(e: string): void;
    on(event: 'data', cb: (chunk: string) => void): void;
    on(event: 'end' | 'error', cb: () => void): void;
}

let wsModule: Promise<WsModule | null> | undefined;

function loadWs(): Promise<WsModule | null> {
    wsModule ??= import('ws').then(
        (m) => m as unknown as WsModule,
        () => null,
    );
    return wsModule;
}

export async function openSocket(url: string, token: string | undefined, h: SocketHandlers): Promise<GatewaySocket> {
    const ws = await loadWs();
    if (ws !== null) return openWithWs(ws, url, token, h);
    return openWithPlatform(url, token, h);
}

function openWithWs(m: WsModule, url: string, token: string | undefined, h: SocketHandlers): GatewaySocket {
    const headers: Record<string, string> = token === undefined ? {} : { authorization: `Bearer ${token}` };
    const sock = new m.default(url, { headers });
    let closed = false;
    let heardAt = Date.now(); // the last frame or pong, for keepAlive
    // While reading is paused (the consumer is behind), frames and pongs wait unread: the
    // server's silence cannot be told from ours, so the time does not count as quiet.
    let paused = false;
    let keepAliveTimer: ReturnType<typeof setInterval> | undefined;
    const closeOnce = (code: number, reason: string) => {
        if (closed) return;
        closed = true;
        clearInterval(keepAliveTimer);
        h.onClose(code, reason);
    };
    const drop = (reason: string) => {
        closeOnce(1006, reason);
        sock.terminate();
    };
    sock.on('open', () => {
        heardAt = Date.now();
        h.onOpen();
    });
    sock.on('pong', () => {
        heardAt = Date.now();
    });
    sock.on('message', (data, isBinary) => {
        heardAt = Date.now();
        if (isBinary) return;
        h.onMessage(Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8'));
    });
    sock.on('error', (err) => {
        // A refused upgrade (401, 426) or a refused connection: ws reports it here, then
        // closes. The message says more than the close that follows, so it goes first;
        // terminate() makes sure the socket is gone.
        closeOnce(1006, err.message);
        sock.terminate();
    });
    sock.on('close', (code, reason) => closeOnce(code, reason.toString('utf8')));
    sock.on('unexpected-response', (req, res) => {
        // A refused upgrade carries prom's JSON error body (docs/ws-protocol.md): read it,
        // so that a 401 or 403 becomes the same typed error as over HTTP.
        const status = res.statusCode ?? 0;
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => {
            if (text.length < 65536) text += chunk;
        });
        const done = () => {
            let body: unknown;
            try {
                body = JSON.parse(text);
            } catch {
                body = { message: `the server refused the WebSocket upgrade with HTTP ${status}` };
            }
            if (!closed) h.onRefused(status, body);
            closeOnce(1006, `HTTP ${status}`);
            req.destroy();
        };
        res.on('end', done);
        res.on('error', done);
    });
    return {
        send: (text) => sock.send(text),
        close: (code, reason) => sock.close(code, reason),
        pause: () => {
            paused = true;
            sock.pause();
        },
        resume: () => {
            paused = false;
            heardAt = Date.now();
            sock.resume();
        },
        drop,
        keepAlive: (idleMs) => {
            clearInterval(keepAliveTimer);
            if (idleMs <= 0 || closed) return;
            keepAliveTimer = setInterval(() => {
                if (sock.readyState !== 1) return; // not open yet: the caller's open limit applies
                if (paused) return; // counted from resume()
                const quiet = Date.now() - heardAt;
                if (quiet >= idleMs) drop(`nothing from the server for ${idleMs} ms`);
                else if (quiet >= idleMs / 3) sock.ping();
            }, Math.max(10, Math.floor(idleMs / 3)));
            // The socket keeps a Node process alive while it is open, not this timer.
            (keepAliveTimer as { unref?: () => void }).unref?.();
        },
        get open() {
            return sock.readyState === 1;
        },
    };
}

function openWithPlatform(url: string, token: string | undefined, h: SocketHandlers): GatewaySocket {
    const Platform = (globalThis as { WebSocket?: typeof WebSocket }).WebSocket;
    if (Platform === undefined) throw new TypeError('@prom/client needs the ws package or a global WebSocket');
    const u = new URL(url);
    if (token !== undefined) u.searchParams.set('token', token);
    const sock = new Platform(u.toString());
    let closed = false;
    sock.onopen = () => h.onOpen();
    sock.onmessage = (ev) => {
        if (typeof ev.data === 'string') h.onMessage(ev.data);
    };
    sock.onerror = () => {
        if (!closed) sock.close();
    };
    sock.onclose = (ev) => {
        if (closed) return;
        closed = true;
        h.onClose(ev.code, ev.reason);
    };
    return {
        send: (text) => sock.send(text),
        close: (code, reason) => sock.close(code, reason),
        pause: () => {},
        resume: () => {},
        drop: (reason) => {
            if (!closed) {
                closed = true;
                h.onClose(1006, reason);
            }
            sock.close();
        },
        keepAlive: () => {},
        get open() {
            return sock.readyState === 1;
        },
    };
}
