// The buffer between a connection's callbacks and a `for await` loop: items in arrival
// order, then either the end or one error, delivered after the items before it; or, when
// the consumer closes it, nothing more at all.

export class AsyncQueue<T> {
    private readonly items: T[] = [];
    private waiter: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | undefined;
    private finished = false;
    private failure: { error: unknown } | undefined;

    /** Called after an item is taken (the owner resumes reading below its mark). */
    onTake: (() => void) | undefined;

    get length(): number {
        return this.items.length;
    }

    get done(): boolean {
        return this.finished || this.failure !== undefined;
    }

    push(item: T): void {
        if (this.done) return;
        if (this.waiter !== undefined) {
            const w = this.waiter;
            this.waiter = undefined;
            w.resolve({ value: item, done: false });
            return;
        }
        this.items.push(item);
    }

    /** Drops buffered items not taken yet (they will be delivered again). */
    clear(): void {
        this.items.length = 0;
    }

    end(): void {
        if (this.done) return;
        this.finished = true;
        this.wake();
    }

    /**
     * Ends at once: the items not taken yet, and an error not thrown yet, are dropped. What
     * the owner's close() does, since its caller asked for nothing more.
     */
    endNow(): void {
        this.items.length = 0;
        this.failure = undefined;
        this.finished = true;
        this.wake();
    }

    fail(error: unknown): void {
        if (this.done) return;
        this.failure = { error };
        this.wake();
    }

    next(): Promise<IteratorResult<T>> {
        if (this.items.length > 0) {
            const value = this.items.shift() as T;
            this.onTake?.();
            return Promise.resolve({ value, done: false });
        }
        if (this.failure !== undefined) {
            const { error } = this.failure;
            // One throw per failure; the iterator is finished after it.
            this.failure = undefined;
            this.finished = true;
            return Promise.reject(error);
        }
        if (this.finished) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve, reject) => {
            this.waiter = { resolve, reject };
        });
    }

    private wake(): void {
        if (this.waiter === undefined || this.items.length > 0) return;
        const w = this.waiter;
        this.waiter = undefined;
        if (this.failure !== undefined) {
            const { error } = this.failure;
            this.failure = undefined;
            this.finished = true;
            w.reject(error);
        } else {
            w.resolve({ value: undefined, done: true });
        }
    }
}
