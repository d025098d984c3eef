// Starts a real `prom serve` for a test: the built binary ($PROM_BIN, else the release build
// of this repository), a free loopback port, a temporary SQLite file, an optional config.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
// dist-test/test/ → clients/ts → repository root.
const repoRoot = resolve(here, '..', '..', '..', '..');

export function promBinary(): string {
    const bin = process.env['PROM_BIN'] ?? join(repoRoot, 'build', 'release', 'src', 'cli', 'prom');
    if (!existsSync(bin)) throw new Error(`no prom binary at ${bin}: build it (scripts/build.sh) or set PROM_BIN`);
    return bin;
}

export interface ServerOptions {
    /** Extra `prom serve` config, e.g. {auth: {tokens: [...]}}. */
    config?: Record<string, unknown>;
    /** Reuse this port (a restart of the same server). */
    port?: number;
    /** Reuse this directory (and so its database). */
    dir?: string;
}

export class PromServer {
    private constructor(
        readonly dir: string,
        readonly port: number,
        private child: ChildProcess,
        private readonly ownsDir: boolean,
    ) {}

    get url(): string {
        return `http://127.0.0.1:${this.port}`;
    }

    static async start(options: ServerOptions = {}): Promise<PromServer> {
        const ownsDir = options.dir === undefined;
        const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'prom-ts-client-'));
        const config = { durable: false, threads: 2, blocking_threads: 2, ...options.config };
        const configPath = join(dir, 'config.json');
        writeFileSync(configPath, JSON.stringify(config));
        const args = [
            'serve',
            '--db',
            `sqlite:${join(dir, 'prom.db')}`,
            '--listen',
            `127.0.0.1:${options.port ?? 0}`,
            '--config',
            configPath,
        ];
        const child = spawn(promBinary(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
        const port = await new Promise<number>((resolvePort, reject) => {
            let out = '';
            const timer = setTimeout(() => reject(new Error(`prom serve did not start in 20 s:\n${out}`)), 20000);
            const onData = (chunk: Buffer) => {
                out += chunk.toString('utf8');
                const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
                if (m !== null) {
                    clearTimeout(timer);
                    resolvePort(Number(m[1]));
                }
            };
            child.stdout?.on('data', onData);
            child.stderr?.on('data', onData);
            child.on('exit', (code) => {
                clearTimeout(timer);
                reject(new Error(`prom serve exited with ${code}:\n${out}`));
            });
        });
        // Keep draining the pipes so the server never blocks on a full one.
        child.stdout?.resume();
        child.stderr?.resume();
        return new PromServer(dir, port, child, ownsDir);
    }

    /** Stops the server: SIGTERM (graceful), or SIGKILL to simulate a crash. */
    async stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
        if (this.child.exitCode !== null || this.child.signalCode !== null) return;
        const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
        this.child.kill(signal);
        await exited;
    }

    /** Starts the same server again: same port, same database. */
    async restart(config?: Record<string, unknown>): Promise<void> {
        await this.stop();
        const again = await PromServer.start({ dir: this.dir, port: this.port, ...(config ? { config } : {}) });
        this.child = again.child;
    }

    async dispose(): Promise<void> {
        await this.stop();
        if (this.ownsDir) rmSync(this.dir, { recursive: true, force: true });
    }
}

/** Resolves when `predicate` holds, polling every 20 ms; rejects after `ms`. */
export async function eventually(predicate: () => boolean | Promise<boolean>, ms = 10000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!(await predicate())) {
        if (Date.now() > deadline) throw new Error('condition not met in time');
        await new Promise((r) => setTimeout(r, 20));
    }
}
