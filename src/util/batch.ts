/**
 * Items handed on in batches: one message per `maxDelayMs` or `maxItems` items rather than one per
 * item. A loaded client sends an event per request; a message each (a serialisation and a write or
 * a copy each) cost it more CPU than its requests did. `flush()` before any other message keeps the
 * receiver's view in order.
 */
export const DEFAULT_BATCH_ITEMS = 500;
export const DEFAULT_BATCH_DELAY_MS = 20;

export class Batcher<T> {
  private items: T[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly send: (items: T[]) => void,
    private readonly maxItems = DEFAULT_BATCH_ITEMS,
    private readonly maxDelayMs = DEFAULT_BATCH_DELAY_MS,
  ) {}

  add(item: T): void {
    this.items.push(item);
    if (this.items.length >= this.maxItems) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.maxDelayMs);
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.items.length === 0) return;
    const items = this.items;
    this.items = [];
    this.send(items);
  }
}
