/** Per-entry overhead counted in the table size (RFC 9204 Section 3.2.1). */
export const ENTRY_OVERHEAD = 32;

export interface TableEntry {
  readonly name: string;
  readonly value: string;
  /** name octets + value octets + 32 */
  readonly size: number;
}

export function entrySize(name: string, value: string): number {
  // Strings hold one octet per character (see string-literal.ts).
  return name.length + value.length + ENTRY_OVERHEAD;
}

/**
 * Dynamic table as both endpoints see it (RFC 9204 Section 3.2): entries addressed by absolute
 * index (0 for the first ever inserted), evicted oldest first. Policy (may this entry be
 * evicted?) belongs to the encoder; the table only does the bookkeeping.
 */
export class DynamicTable {
  private entries: TableEntry[] = [];
  /** Position in `entries` of the oldest live entry; compacted now and then. */
  private head = 0;
  /** Total number of insertions ever (the Insert Count). */
  insertCount = 0;
  /** Sum of entry sizes. */
  size = 0;
  capacity = 0;

  get length(): number {
    return this.entries.length - this.head;
  }

  /** Absolute index of the oldest live entry (== insertCount when empty). */
  get firstIndex(): number {
    return this.insertCount - this.length;
  }

  get(absoluteIndex: number): TableEntry | undefined {
    if (absoluteIndex < this.firstIndex || absoluteIndex >= this.insertCount) return undefined;
    return this.entries[this.head + absoluteIndex - this.firstIndex];
  }

  /** Evicts oldest entries until `size <= target`. */
  evictTo(target: number): void {
    while (this.size > target && this.length > 0) {
      this.size -= this.entries[this.head]!.size;
      this.head++;
    }
    if (this.head > 64 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }

  /** Adds an entry, evicting as needed; the caller has checked `size <= capacity`. */
  insert(name: string, value: string): number {
    const entry = { name, value, size: entrySize(name, value) };
    this.evictTo(this.capacity - entry.size);
    this.entries.push(entry);
    this.size += entry.size;
    return this.insertCount++;
  }

  setCapacity(capacity: number): void {
    this.capacity = capacity;
    this.evictTo(capacity);
  }
}
