// Exponential backoff with full jitter, and a sleep that an AbortSignal ends early.

import type { RetryOptions } from './types.js';

export interface Backoff {
    attempts: number;
    baseDelayMs: number;
    maxDelayMs: number;
}

/**
 * The backoff of `options` (the client's `retry`, or a subscription's or watch's
 * `reconnect`, which `name` says for the error); throws RangeError for values out of range.
 */
export function backoffOf(options: RetryOptions | undefined, name = 'retry'): Backoff {
    // Checked rather than clamped: Math.max(1, NaN) is NaN, and `attempt >= NaN` is never
    // true, so {attempts: NaN} retried for ever (found from outside).
    const attempts = options?.attempts ?? 5;
    if (typeof attempts !== 'number' || !Number.isInteger(attempts) || attempts < 1) {
        throw new RangeError(
            `${name}.attempts must be a whole number >= 1 (attempts in all, the first included), not ${attempts}`,
        );
    }
    return {
        attempts,
        baseDelayMs: Math.max(1, delayOption(options?.baseDelayMs, 100, `${name}.baseDelayMs`)),
        maxDelayMs: Math.max(1, delayOption(options?.maxDelayMs, 5000, `${name}.maxDelayMs`)),
    };
}

function delayOption(value: number | undefined, fallback: number, name: string): number {
    const ms = value ?? fallback;
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
        throw new RangeError(`${name} must be a number of milliseconds >= 0, not ${ms}`);
    }
    return ms;
}

/** The delay before retry number `retry` (1 for the first retry). */
export function delayFor(b: Backoff, retry: number): number {
    const ceiling = Math.min(b.maxDelayMs, b.baseDelayMs * 2 ** Math.min(retry - 1, 30));
    // Full jitter keeps many clients that lost the same server from coming back in step.
    return ceiling / 2 + Math.random() * (ceiling / 2);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
        if (signal?.aborted) {
            reject(signal.reason);
            return;
        }
        const onAbort = () => {
            clearTimeout(timer);
            reject(signal?.reason);
        };
        const timer = setTimeout(() => {
            signal?.removeEventListener('abort', onAbort);
            resolve();
        }, ms);
        signal?.addEventListener('abort', onAbort, { once: true });
    });
}
