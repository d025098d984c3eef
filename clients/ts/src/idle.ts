// How long an open stream (a watch's SSE, a subscription's WebSocket) may stay quiet before
// the client takes its connection as dead and reconnects.

/** The default: three of the server's keep-alive intervals (a watch stream's comment every 15 s). */
export const defaultIdleTimeoutMs = 45_000;

/** The option as given, or the default; throws RangeError for anything but milliseconds >= 0. */
export function idleTimeoutOf(value: number | undefined): number {
    const ms = value ?? defaultIdleTimeoutMs;
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
        throw new RangeError(`idleTimeoutMs must be a number of milliseconds >= 0, not ${ms}`);
    }
    return ms;
}
