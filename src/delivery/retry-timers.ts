// Retry scheduling for the memory outbox: a hashed timer wheel with one Node timer for all waiting deliveries.
// One setTimeout per waiting retry cost a timer object, its list bookkeeping and a closure per delivery; the wheel
// files each retry in the slot of its due tick (O(1)), visits each entry once per wheel turn, and keeps a single
// timer armed only while something waits. Retries fire at most one tick late, never early.

interface Entry<T> {
  item: T;
  /** Whole wheel turns left before the entry is due. */
  rounds: number;
}

export interface RetryTimersOptions {
  /** Resolution in ms (default 25): a retry fires within one tick after its delay. */
  tickMs?: number;
  /** Slots in the wheel (default 4096, i.e. 102 s at 25 ms): longer delays take extra turns. */
  slots?: number;
  now?: () => number;
}

export class RetryTimers<T> {
  private readonly tickMs: number;
  private readonly slots: (Entry<T>[] | undefined)[];
  private readonly now: () => number;
  /** The next tick to process (ticks are `epoch ms / tickMs`). */
  private cursor = 0;
  private count = 0;
  private timer?: NodeJS.Timeout;
  /** Entries looked at while ticking: one per entry per wheel turn (checked by the unit tests). */
  visits = 0;

  constructor(private readonly fire: (item: T) => void, opts: RetryTimersOptions = {}) {
    this.tickMs = opts.tickMs ?? 25;
    this.slots = new Array<Entry<T>[] | undefined>(opts.slots ?? 4096);
    this.now = opts.now ?? Date.now;
  }

  /** Items waiting. */
  get size(): number {
    return this.count;
  }

  /** Calls `fire(item)` once `delayMs` has passed. */
  schedule(item: T, delayMs: number): void {
    const now = this.now();
    if (this.count === 0) this.cursor = Math.floor(now / this.tickMs);
    // Rounded up, so an item is never due before its delay; a tick already passed is the next one processed.
    const due = Math.max(Math.ceil((now + Math.max(0, delayMs)) / this.tickMs), this.cursor);
    const size = this.slots.length;
    const slot = due % size;
    const entry = { item, rounds: Math.floor((due - this.cursor) / size) };
    const list = this.slots[slot];
    if (list) list.push(entry);
    else this.slots[slot] = [entry];
    this.count++;
    this.arm();
  }

  /** Drops everything waiting (shutdown). */
  clear(): void {
    this.slots.fill(undefined);
    this.count = 0;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(): void {
    if (this.timer || this.count === 0) return;
    this.timer = setTimeout(this.tick, Math.max(0, this.cursor * this.tickMs - this.now()));
  }

  private readonly tick = (): void => {
    this.timer = undefined;
    const target = Math.floor(this.now() / this.tickMs);
    const size = this.slots.length;
    const due: T[] = [];
    while (this.cursor <= target && this.count > 0) {
      const slot = this.cursor % size;
      const list = this.slots[slot];
      if (list) {
        let kept = 0;
        for (const e of list) {
          this.visits++;
          if (e.rounds === 0) {
            due.push(e.item);
            this.count--;
          } else {
            e.rounds--;
            list[kept++] = e;
          }
        }
        list.length = kept;
        if (kept === 0) this.slots[slot] = undefined;
      }
      this.cursor++;
    }
    this.arm();
    for (const item of due) this.fire(item);
  };
}
