/**
 * Packets waiting for their departure time: a binary min-heap on (dueMs, arrival sequence), so packets
 * due at the same time leave in arrival order. Struct-of-arrays keeps the hot path free of allocation.
 */
export class PacketScheduler<T> {
  private due: number[] = [];
  private seq: number[] = [];
  private items: (T | undefined)[] = [];
  private nextSeq = 0;

  get size(): number {
    return this.due.length;
  }

  /** Due time of the earliest packet, Infinity when empty. */
  peekDue(): number {
    return this.due.length > 0 ? this.due[0]! : Infinity;
  }

  push(dueMs: number, item: T): void {
    const due = this.due;
    const seq = this.seq;
    const items = this.items;
    let i = due.length;
    const s = this.nextSeq++;
    due.push(dueMs);
    seq.push(s);
    items.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pd = due[parent]!;
      if (pd < dueMs || (pd === dueMs && seq[parent]! < s)) break;
      due[i] = pd;
      seq[i] = seq[parent]!;
      items[i] = items[parent];
      i = parent;
    }
    due[i] = dueMs;
    seq[i] = s;
    items[i] = item;
  }

  /** Removes and returns the earliest packet; call only when size > 0. */
  pop(): T {
    const due = this.due;
    const seq = this.seq;
    const items = this.items;
    const top = items[0] as T;
    const lastDue = due.pop()!;
    const lastSeq = seq.pop()!;
    const lastItem = items.pop();
    const n = due.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        let c = l;
        if (r < n && (due[r]! < due[l]! || (due[r] === due[l] && seq[r]! < seq[l]!))) c = r;
        if (due[c]! > lastDue || (due[c] === lastDue && seq[c]! > lastSeq)) break;
        due[i] = due[c]!;
        seq[i] = seq[c]!;
        items[i] = items[c];
        i = c;
      }
      due[i] = lastDue;
      seq[i] = lastSeq;
      items[i] = lastItem;
    }
    return top;
  }
}
