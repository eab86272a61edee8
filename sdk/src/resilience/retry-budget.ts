/**
 * gRPC's retry throttling (proposal A6): every failure costs a token, every success earns
 * back `tokenRatio`, and retries stop while fewer than half the tokens remain. During an
 * outage retries fade out instead of multiplying the load on the failing service.
 */
export class RetryBudget {
  private tokens: number
  readonly maxTokens: number
  readonly tokenRatio: number

  constructor(opts: { maxTokens?: number; tokenRatio?: number } = {}) {
    this.maxTokens = opts.maxTokens ?? 10
    this.tokenRatio = opts.tokenRatio ?? 0.1
    if (!(this.maxTokens > 0)) throw new RangeError('maxTokens must be > 0')
    if (!(this.tokenRatio > 0)) throw new RangeError('tokenRatio must be > 0')
    this.tokens = this.maxTokens
  }

  onSuccess(): void {
    this.tokens = Math.min(this.maxTokens, this.tokens + this.tokenRatio)
  }

  onFailure(): void {
    this.tokens = Math.max(0, this.tokens - 1)
  }

  get canRetry(): boolean {
    return this.tokens > this.maxTokens / 2
  }

  get available(): number {
    return this.tokens
  }
}
