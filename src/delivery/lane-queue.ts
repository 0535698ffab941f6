// A FIFO with O(1) push and shift for the memory outbox's lanes: a growable ring buffer.
// Array.prototype.shift copies the whole array once it is large (V8 only moves the start of small arrays), so a lane
// tens of thousands deep paid a copy of its backlog per delivery; here shift only moves the head index.

export class LaneQueue<T> {
  private items: (T | undefined)[];
  private head = 0;
  private count = 0;
  /** Items copied when the buffer grew: fewer than two per item pushed in total (checked by the unit tests). */
  moves = 0;

  /** `capacity` is rounded up to a power of two so that wrapping is a mask. */
  constructor(capacity = 16) {
    let size = 1;
    while (size < capacity) size *= 2;
    this.items = new Array<T | undefined>(size);
  }

  get length(): number {
    return this.count;
  }

  push(item: T): void {
    if (this.count === this.items.length) this.grow();
    this.items[(this.head + this.count) & (this.items.length - 1)] = item;
    this.count++;
  }

  /** The oldest item, removed; undefined when empty. */
  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.items[this.head];
    // Cleared so a delivered notification is not kept alive by the buffer.
    this.items[this.head] = undefined;
    this.head = (this.head + 1) & (this.items.length - 1);
    this.count--;
    return item;
  }

  /** The oldest item, left in place. */
  peek(): T | undefined {
    return this.count === 0 ? undefined : this.items[this.head];
  }

  /** Doubling keeps the copies amortised O(1) per push; the buffer never shrinks (a lane is dropped when empty). */
  private grow(): void {
    const old = this.items;
    const next = new Array<T | undefined>(old.length * 2);
    for (let i = 0; i < this.count; i++) next[i] = old[(this.head + i) & (old.length - 1)];
    this.moves += this.count;
    this.items = next;
    this.head = 0;
  }
}
