// Exponential backoff with full jitter, and a sleep that an AbortSignal ends early.

import type { RetryOptions } from './types.js';

export interface Backoff {
    attempts: number;
    baseDelayMs: number;
    maxDelayMs: number;
}

export function backoffOf(options: RetryOptions | undefined): Backoff {
    return {
        attempts: Math.max(1, options?.attempts ?? 5),
        baseDelayMs: Math.max(1, options?.baseDelayMs ?? 100),
        maxDelayMs: Math.max(1, options?.maxDelayMs ?? 5000),
    };
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
