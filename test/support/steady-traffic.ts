/**
 * Steady traffic for fault tests: a few loops, each sending one kind of
 * request over and over to whichever instances are alive, recording every
 * answer with its time. Afterwards the record answers the questions a fault
 * test asks: which statuses were seen, whether every 503 carried
 * Retry-After, and how long after a service came back the first success of
 * each kind of request arrived.
 */

export interface Answer {
  op: string;
  instance: string;
  started: number;
  ended: number;
  /** 0: no HTTP answer (connection refused or reset, timeout). */
  status: number;
  retryAfter: string | null;
}

export interface Target {
  name: string;
  url: string;
}

export interface Loop {
  op: string;
  /** Pause between two requests of this loop, to keep the load steady and small. */
  everyMs: number;
  /** Sends one request; may read the body (e.g. to rotate a refresh token), must not throw for HTTP errors. */
  call(target: Target): Promise<Response>;
  /** Called with each answer that arrived (the body not yet read). */
  onAnswer?(response: Response, target: Target): Promise<void>;
}

export class SteadyTraffic {
  readonly answers: Answer[] = [];
  #targets: Target[];
  #running = false;
  #loops: Array<Promise<void>> = [];

  constructor(targets: Target[]) {
    this.#targets = [...targets];
  }

  /** A killed instance leaves the rotation, as a load balancer's health check would take it out. */
  remove(name: string): void {
    this.#targets = this.#targets.filter((t) => t.name !== name);
  }

  start(loops: Loop[]): void {
    this.#running = true;
    this.#loops = loops.map(async (loop) => {
      let turn = 0;
      while (this.#running) {
        const target = this.#targets[turn++ % this.#targets.length]!;
        const started = Date.now();
        let status = 0;
        let retryAfter: string | null = null;
        try {
          const response = await loop.call(target);
          status = response.status;
          retryAfter = response.headers.get('retry-after');
          if (loop.onAnswer) await loop.onAnswer(response, target);
          else await response.arrayBuffer();
        } catch {
          // No HTTP answer: counted as status 0.
        }
        this.answers.push({ op: loop.op, instance: target.name, started, ended: Date.now(), status, retryAfter });
        await new Promise((r) => setTimeout(r, loop.everyMs));
      }
    });
  }

  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#loops);
  }

  between(from: number, to: number): Answer[] {
    return this.answers.filter((a) => a.started >= from && a.started < to);
  }

  /** `{ op: { status: count } }` for the answers given. */
  static byStatus(answers: Answer[]): Record<string, Record<string, number>> {
    const table: Record<string, Record<string, number>> = {};
    for (const a of answers) {
      const row = (table[a.op] ??= {});
      row[a.status] = (row[a.status] ?? 0) + 1;
    }
    return table;
  }

  /**
   * Milliseconds from `backAt` (the service answering again) until the end
   * of the last failed answer of the kinds given, on any instance: from then
   * on, everything succeeded. Infinity while some instance has not yet
   * answered every kind successfully after `backAt`, or answers still fail
   * in the last `settleMs`.
   */
  recoveryMs(backAt: number, ops: string[], settleMs = 1_000): number {
    const ok = (a: Answer) => a.status >= 200 && a.status < 300;
    const relevant = this.answers.filter((a) => ops.includes(a.op) && a.ended >= backAt);
    for (const target of this.#targets)
      for (const op of ops)
        if (!relevant.some((a) => a.op === op && a.instance === target.name && a.started >= backAt && ok(a))) return Infinity;
    const lastFailure = Math.max(backAt, ...relevant.filter((a) => !ok(a)).map((a) => a.ended));
    if (Date.now() - lastFailure < settleMs) return Infinity;
    return lastFailure - backAt;
  }
}
