// What the browser tests share: a real `prom serve --demo` on a free loopback port, Debian's
// chromium driven by playwright-core (from ui/node_modules), console error collection,
// screenshots, and small assertions that count passes and failures.
import { spawn, execFile } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const { chromium } = require(join(here, "..", "..", "ui", "node_modules", "playwright-core"));

export const execFileP = promisify(execFile);

export function args() {
    const out = {};
    const a = process.argv.slice(2);
    for (let i = 0; i < a.length; i += 2) out[a[i].replace(/^--/, "")] = a[i + 1];
    if (!out.prom || !out.out || !out.scenario) {
        console.error("usage: node dashboard_test.mjs --prom BIN --out DIR --scenario NAME");
        process.exit(2);
    }
    return out;
}

// Assertions: each check counts; the run ends with "N passed, M failed".
export const results = { passed: 0, failed: 0 };
export function check(ok, what, detail = "") {
    if (ok) {
        results.passed++;
        console.log(`ok: ${what}`);
    } else {
        results.failed++;
        console.log(`FAILED: ${what}${detail ? `: ${detail}` : ""}`);
    }
    return ok;
}

// A prom serve with its own temporary database; config adds to the defaults below. A
// restart passes the port and folder of the server it replaces (stop({keep: true})).
export async function startServer(prom, config = {}, { port: fixedPort = 0, dir: reuse = null } = {}) {
    const dir = reuse ?? mkdtempSync(join(tmpdir(), "prom-browser-"));
    const cfgPath = join(dir, "config.json");
    // stale_after_ms short, so that the demo's silent process turns stale within seconds.
    writeFileSync(cfgPath, JSON.stringify({ stale_after_ms: 2000, durable: false, ...config }));
    const db = `sqlite:${join(dir, "prom.db")}`;
    const child = spawn(prom, ["serve", "--demo", "--listen", `127.0.0.1:${fixedPort}`, "--db", db, "--config", cfgPath], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "", err = "";
    child.stderr.on("data", (d) => { err += d; });
    const port = await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`prom serve did not start: ${err}`)), 30000);
        child.stdout.on("data", (d) => {
            out += d;
            const m = out.match(/http:\/\/127\.0\.0\.1:(\d+)/);
            if (m) {
                clearTimeout(timer);
                resolve(Number(m[1]));
            }
        });
        child.on("exit", (code) => {
            // Exited before it listened: nothing will stop() it, so clean up here.
            if (!reuse && !/http:\/\/127/.test(out)) rmSync(dir, { recursive: true, force: true });
            reject(new Error(`prom serve exited ${code}: ${err}`));
        });
    });
    const base = `http://127.0.0.1:${port}`;
    return {
        base, port, db, dir, child,
        log: () => err,
        async stop({ keep = false } = {}) {
            if (child.exitCode === null) {
                child.kill("SIGTERM");
                await new Promise((r) => child.once("exit", r));
            }
            if (!keep) rmSync(dir, { recursive: true, force: true });
        },
        async publish(events, token) {
            const headers = { "Content-Type": "application/json" };
            if (token) headers.Authorization = `Bearer ${token}`;
            const res = await fetch(`${base}/publish`, { method: "POST", headers, body: JSON.stringify({ events }) });
            if (!res.ok) throw new Error(`publish: ${res.status} ${await res.text()}`);
            return res.json();
        },
    };
}

export function heartbeat(host, name, pid, extra = {}) {
    return { topic: "heartbeat.received", key: `${host}:${name}:${pid}`, payload: { host, name, pid, cpu_pct: 1, mem_mb: 2, ...extra } };
}

// Chromium headless; as root it needs --no-sandbox. Console errors are collected per page.
export async function openBrowser() {
    const executablePath = process.env.PROM_CHROMIUM ?? "/usr/bin/chromium";
    const browser = await chromium.launch({
        executablePath,
        headless: true,
        args: [...(process.getuid?.() === 0 ? ["--no-sandbox"] : []), "--disable-dev-shm-usage", "--disable-gpu"],
    });
    return browser;
}

export async function newPage(browser) {
    const context = await browser.newContext({ timezoneId: "UTC", viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const errors = [];
    page.on("console", (m) => {
        if (m.type() !== "error") return;
        const where = m.location()?.url ?? "";
        errors.push(`${m.text()} (${where})`);
    });
    page.on("pageerror", (e) => errors.push(`page error: ${e.message}`));
    return { page, context, errors };
}

// The 404s of routes that other work adds (watches, /topics, /groups): the page falls
// back and says so; Chromium still logs the failed request.

export async function screenshot(page, out, name) {
    mkdirSync(out, { recursive: true });
    await page.screenshot({ path: join(out, `${name}.png`), fullPage: false });
}

export function finish() {
    console.log(`${results.passed} passed, ${results.failed} failed`);
    process.exit(results.failed ? 1 : 0);
}
