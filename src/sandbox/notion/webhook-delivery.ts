/**
 * Sending webhook requests as Notion does: JSON bodies signed with
 * `X-Notion-Signature: sha256=<hex>` (HMAC-SHA256 of the exact body bytes,
 * keyed with the subscription's verification token, computed by
 * @notionhq/client's own signWebhookPayload), up to 8 attempts on a non-2xx
 * answer or a network error, with a growing delay between them.
 *
 * Ordering argument: each subscription has one FIFO queue and at most one
 * runner working it, which sends the head item, retries it until it succeeds
 * or runs out of attempts, and only then takes the next. So a subscription's
 * requests never overlap and arrive in the order they were queued (the
 * verification request first); one subscription's slow receiver does not
 * hold up another's. The queue lives in memory: what is pending when the
 * process ends is lost, which Notion's at-most-once promise allows.
 */
import { signWebhookPayload } from '@notionhq/client';

export const MAX_ATTEMPTS = 8;

export interface DeliveryOptions {
  /** Delay before attempts 2..8; the last entry repeats when the list is shorter. */
  retryDelaysMs: readonly number[];
  /** Per request. */
  timeoutMs: number;
}

/** About a day from the first attempt to the eighth, as Notion's schedule. */
export const DEFAULT_RETRY_DELAYS_MS: readonly number[] = [60, 300, 900, 3600, 3 * 3600, 6 * 3600, 13 * 3600].map((s) => s * 1000);

export interface Outgoing {
  /** The body of attempt n (an event carries its attempt_number, so every attempt is serialised and signed anew). */
  body: (attempt: number) => string;
}

/** Where and with what key a subscription's requests go, read at send time (null: the subscription is gone). */
export type Target = (subscriptionId: string) => { url: string; verificationToken: string } | null;

interface Queue {
  items: Outgoing[];
  running: boolean;
}

export class WebhookDelivery {
  private readonly queues = new Map<string, Queue>();
  private readonly waiters: Array<() => void> = [];
  private readonly sleeping = new Set<{ timer: NodeJS.Timeout; wake: () => void }>();
  private readonly closing = new AbortController();

  constructor(
    private readonly target: Target,
    private readonly options: DeliveryOptions,
  ) {}

  enqueue(subscriptionId: string, item: Outgoing): void {
    if (this.closing.signal.aborted) return;
    let queue = this.queues.get(subscriptionId);
    if (!queue) this.queues.set(subscriptionId, (queue = { items: [], running: false }));
    queue.items.push(item);
    if (!queue.running) {
      queue.running = true;
      // After the current call stack: the API answer that caused the event goes out first.
      setImmediate(() => void this.run(subscriptionId, queue));
    }
  }

  /** Drops what is queued for a subscription (unsubscribed); a request in flight still completes. */
  drop(subscriptionId: string): void {
    const queue = this.queues.get(subscriptionId);
    if (queue) queue.items.length = queue.running ? Math.min(queue.items.length, 1) : 0;
  }

  /** Resolves once every queue is empty, retries included. */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Stops sending: aborts requests in flight, cancels retry waits, forgets the queues. */
  close(): void {
    this.closing.abort();
    for (const sleeper of this.sleeping) {
      clearTimeout(sleeper.timer);
      sleeper.wake();
    }
    this.sleeping.clear();
    for (const queue of this.queues.values()) queue.items.length = 0;
  }

  private isIdle(): boolean {
    for (const queue of this.queues.values()) if (queue.running || queue.items.length > 0) return false;
    return true;
  }

  private async run(subscriptionId: string, queue: Queue): Promise<void> {
    try {
      while (queue.items.length > 0 && !this.closing.signal.aborted) {
        await this.attemptAll(subscriptionId, queue.items[0]);
        queue.items.shift();
      }
    } finally {
      queue.running = false;
      if (queue.items.length === 0) this.queues.delete(subscriptionId);
      if (this.isIdle()) for (const resolve of this.waiters.splice(0)) resolve();
    }
  }

  private async attemptAll(subscriptionId: string, item: Outgoing): Promise<void> {
    for (let attempt = 1; attempt <= MAX_ATTEMPTS && !this.closing.signal.aborted; attempt += 1) {
      const target = this.target(subscriptionId);
      if (!target) return;
      if (await this.send(target, item.body(attempt))) return;
      if (attempt < MAX_ATTEMPTS) await this.sleep(this.delayBefore(attempt + 1));
    }
  }

  private delayBefore(attempt: number): number {
    const delays = this.options.retryDelaysMs;
    return delays[Math.min(attempt - 2, delays.length - 1)] ?? 0;
  }

  /** One request; true on a 2xx. Redirects are not followed (a 3xx is a failure, as any non-2xx). */
  private async send(target: { url: string; verificationToken: string }, body: string): Promise<boolean> {
    try {
      const signature = await signWebhookPayload({ body, verificationToken: target.verificationToken });
      const response = await fetch(target.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-notion-signature': signature, 'user-agent': 'sandbox-notion-webhooks' },
        body,
        redirect: 'manual',
        signal: AbortSignal.any([this.closing.signal, AbortSignal.timeout(this.options.timeoutMs)]),
      });
      await response.body?.cancel().catch(() => undefined);
      return response.status >= 200 && response.status < 300;
    } catch {
      return false;
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const sleeper = {
        wake: () => resolve(),
        timer: setTimeout(() => {
          this.sleeping.delete(sleeper);
          resolve();
        }, ms),
      };
      // A pending retry must not keep the process alive.
      sleeper.timer.unref();
      this.sleeping.add(sleeper);
    });
  }
}
