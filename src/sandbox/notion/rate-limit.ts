/**
 * Notion's request limit: "an average of three requests per second, with some
 * bursts beyond the average allowed" per connection (request-limits page), as a
 * token bucket per (integration, workspace). In memory only: a restart forgets it.
 */
export interface RateLimitVerdict {
  allowed: boolean;
  /** Whole seconds until a request would be allowed (Retry-After is an integer). */
  retryAfterSeconds: number;
}

export class TokenBucketLimiter {
  private readonly buckets = new Map<string, { tokens: number; updatedAt: number }>();

  constructor(
    private readonly ratePerSecond: number,
    private readonly capacity: number,
  ) {}

  take(key: string, now: Date): RateLimitVerdict {
    if (!Number.isFinite(this.ratePerSecond)) return { allowed: true, retryAfterSeconds: 0 };
    const at = now.getTime();
    const bucket = this.buckets.get(key) ?? { tokens: this.capacity, updatedAt: at };
    const elapsedSeconds = Math.max(0, at - bucket.updatedAt) / 1000;
    bucket.tokens = Math.min(this.capacity, bucket.tokens + elapsedSeconds * this.ratePerSecond);
    bucket.updatedAt = at;
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { allowed: true, retryAfterSeconds: 0 };
    }
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / this.ratePerSecond)) };
  }
}
