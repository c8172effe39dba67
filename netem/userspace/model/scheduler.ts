/**
 * Packets waiting for their departure time: a binary min-heap on (dueMs, arrival sequence), so packets
 * due at the same time leave in arrival order. Struct-of-arrays keeps the hot path free of allocation.
 */
export class PacketScheduler<T> {
  private due: number[] = [];
  private seq: number[] = [];
  private items: (T | undefined)[] = [];
  private tags: number[] = [];
  private nextSeq = 0;
  /** Tag and due time of the packet the last pop() returned (no object per packet). */
  poppedTag = 0;
  poppedDue = 0;

  get size(): number {
    return this.due.length;
  }

  /** Due time of the earliest packet, Infinity when empty. */
  peekDue(): number {
    return this.due.length > 0 ? this.due[0]! : Infinity;
  }

  /** `tag` is a small number carried with the item (e.g. its route). */
  push(dueMs: number, item: T, tag = 0): void {
    const due = this.due;
    const seq = this.seq;
    const items = this.items;
    const tags = this.tags;
    let i = due.length;
    const s = this.nextSeq++;
    due.push(dueMs);
    seq.push(s);
    items.push(item);
    tags.push(tag);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pd = due[parent]!;
      if (pd < dueMs || (pd === dueMs && seq[parent]! < s)) break;
      due[i] = pd;
      seq[i] = seq[parent]!;
      items[i] = items[parent];
      tags[i] = tags[parent]!;
      i = parent;
    }
    due[i] = dueMs;
    seq[i] = s;
    items[i] = item;
    tags[i] = tag;
  }

  /** Removes and returns the earliest packet; call only when size > 0. */
  pop(): T {
    const due = this.due;
    const seq = this.seq;
    const items = this.items;
    const tags = this.tags;
    const top = items[0] as T;
    this.poppedTag = tags[0]!;
    this.poppedDue = due[0]!;
    const lastDue = due.pop()!;
    const lastSeq = seq.pop()!;
    const lastItem = items.pop();
    const lastTag = tags.pop()!;
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
        tags[i] = tags[c]!;
        i = c;
      }
      due[i] = lastDue;
      seq[i] = lastSeq;
      items[i] = lastItem;
      tags[i] = lastTag;
    }
    return top;
  }
}
