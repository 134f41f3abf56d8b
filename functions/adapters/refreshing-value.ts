import { DEFAULTS } from '../config.js';
import { ServiceUnavailable } from '../domain/errors.js';
import type { Clock } from '../ports.js';

/**
 * A value loaded from a dependency and kept in memory for `ttlSeconds`. Concurrent callers share
 * one load. When a reload fails, the last good value keeps serving (a Secrets Manager outage does
 * not take down a warm broker) and the next reload is tried after `retrySeconds`; with no good
 * value yet, the failure is a 503.
 */
export class RefreshingValue<T> {
  /** The last good value, as a settled promise: a fresh read hands it out rather than wrapping it again. */
  private value: Promise<T> | undefined;
  private freshUntil = 0;
  private loading: Promise<T> | undefined;

  constructor(
    private readonly dependency: string,
    private readonly load: () => Promise<T>,
    private readonly clock: Clock,
    private readonly ttlSeconds: number,
    private readonly retrySeconds: number = DEFAULTS.awsHold.retryAfterFailure,
    private readonly onStale: (error: unknown) => void = () => {},
  ) {}

  get(): Promise<T> {
    if (this.value !== undefined && this.clock() < this.freshUntil) return this.value;
    this.loading ??= this.reload().finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  private async reload(): Promise<T> {
    try {
      const value = await this.load();
      this.value = Promise.resolve(value);
      this.freshUntil = this.clock() + this.ttlSeconds;
      return value;
    } catch (error) {
      if (this.value === undefined) {
        throw error instanceof ServiceUnavailable ? error : new ServiceUnavailable(this.dependency, error);
      }
      this.onStale(error);
      this.freshUntil = this.clock() + this.retrySeconds;
      return this.value;
    }
  }
}
