// The abort signal of each delivery attempt: the attempt's deadline or the outbox's shutdown, whichever comes first.
// AbortSignal.timeout + AbortSignal.any cost a timer, two signals and weak-ref bookkeeping per attempt; here each
// attempt is one AbortController in a set, one timer is armed for the earliest deadline of all attempts in flight
// (attempts of one Provider share a timeout, so later attempts never re-arm it) and one listener per outbox signal
// aborts them all on shutdown.

export interface Attempt {
  readonly signal: AbortSignal;
  /** True once the deadline (not a shutdown) aborted the attempt. */
  timedOut: boolean;
}

interface Live extends Attempt {
  controller: AbortController;
  deadline: number;
  parent: AbortSignal;
}

export class AttemptDeadlines {
  private readonly live = new Set<Live>();
  private readonly byParent = new WeakMap<AbortSignal, Set<Live>>();
  private timer?: NodeJS.Timeout;
  private armedFor = Infinity;
  /** Node timers armed so far (the unit tests check it stays far below the number of attempts). */
  timersArmed = 0;

  constructor(private readonly now: () => number = Date.now) {}

  /** An attempt aborted at `deadline` (epoch ms, asynchronously even when already past) or when `parent` aborts. */
  start(parent: AbortSignal, deadline: number): Attempt {
    const controller = new AbortController();
    const a: Live = { signal: controller.signal, timedOut: false, controller, deadline, parent };
    if (parent.aborted) {
      controller.abort(parent.reason);
      return a;
    }
    let siblings = this.byParent.get(parent);
    if (!siblings) {
      const set = (siblings = new Set<Live>());
      this.byParent.set(parent, set);
      parent.addEventListener('abort', () => {
        for (const s of set) this.abort(s, parent.reason, false);
      }, { once: true });
    }
    siblings.add(a);
    this.live.add(a);
    if (deadline < this.armedFor) this.arm(deadline);
    return a;
  }

  /** The attempt is over (answered or failed): forget it. */
  finish(attempt: Attempt): void {
    const a = attempt as Live;
    this.live.delete(a);
    this.byParent.get(a.parent)?.delete(a);
  }

  private abort(a: Live, reason: unknown, timedOut: boolean): void {
    this.finish(a);
    a.timedOut = timedOut;
    a.controller.abort(reason);
  }

  private arm(deadline: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.armedFor = deadline;
    this.timersArmed++;
    // Unref'd as AbortSignal.timeout's timer is: a pending deadline alone does not keep the process alive.
    this.timer = setTimeout(this.expire, Math.max(0, deadline - this.now())).unref();
  }

  private readonly expire = (): void => {
    this.timer = undefined;
    this.armedFor = Infinity;
    const now = this.now();
    let next = Infinity;
    for (const a of this.live) {
      if (a.deadline <= now) this.abort(a, new DOMException('The operation was aborted due to timeout', 'TimeoutError'), true);
      else if (a.deadline < next) next = a.deadline;
    }
    if (next !== Infinity) this.arm(next);
  };
}
