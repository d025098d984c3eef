// The snapshot cache behind If-None-Match: the last body and ETag seen per document, least
// recently used first out. A 304 costs the server no body and the client no parse.

export interface CachedSnapshot {
    etag: string;
    lastModified: string | null;
    body: unknown;
}

export class EtagCache {
    private readonly entries = new Map<string, CachedSnapshot>();

    constructor(private readonly capacity: number) {}

    get(key: string): CachedSnapshot | undefined {
        const hit = this.entries.get(key);
        if (hit !== undefined) {
            // Map keeps insertion order: re-inserting makes this the most recently used.
            this.entries.delete(key);
            this.entries.set(key, hit);
        }
        return hit;
    }

    set(key: string, value: CachedSnapshot): void {
        if (this.capacity <= 0) return;
        this.entries.delete(key);
        this.entries.set(key, value);
        while (this.entries.size > this.capacity) {
            const oldest = this.entries.keys().next().value as string;
            this.entries.delete(oldest);
        }
    }

    delete(key: string): void {
        this.entries.delete(key);
    }

    get size(): number {
        return this.entries.size;
    }
}
