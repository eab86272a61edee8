// A lease on a name (a rule's runs, its compensations) between reconcilers sharing one
// ClickHouse, which has no compare-and-set: each claims, then reads who claimed first.
// Claims are stamped by the engine's clock as they are inserted, so a claim made after
// another process read the claims always sorts after that process's own.
import type { Storage } from '@reckon/collector/storage'

export interface Lease {
  name: string
  holder: string
  claimedAt: string
}

export class Leases {
  constructor(
    private readonly storage: Storage,
    /** This process, as claims name it. */
    readonly holder: string,
  ) {}

  /** The lease, if this holder has it now; held for `ttlMs` unless renewed or released. */
  async acquire(name: string, ttlMs: number): Promise<Lease | undefined> {
    const { client, database: db } = this.storage
    await client.command({
      query: `INSERT INTO ${db}.reconcile_leases (name, holder, claimed_at, until, version)
        SELECT {name:String}, {holder:String}, now64(9),
          now64(9) + toIntervalMillisecond({ttl:UInt64}), toUnixTimestamp64Nano(now64(9))`,
      query_params: { name, holder: this.holder, ttl: ttlMs },
    })
    const first = await this.first(name)
    if (first?.holder !== this.holder) {
      if (first) await this.release({ name, holder: this.holder, claimedAt: '' })
      return undefined
    }
    return first
  }

  /** Who holds `name` now, if anyone. */
  async first(name: string): Promise<Lease | undefined> {
    const { client, database: db } = this.storage
    const rs = await client.query({
      query: `SELECT name, holder, toString(claimed_at) AS claimedAt
        FROM ${db}.reconcile_leases FINAL
        WHERE name = {name:String} AND until > now64(9)
        ORDER BY claimed_at, holder LIMIT 1`,
      query_params: { name },
      format: 'JSONEachRow',
    })
    return (await rs.json<Lease>())[0]
  }

  /** Ends this holder's claims on the name (all of them, the losing ones included). */
  async release(lease: Lease): Promise<void> {
    const { client, database: db } = this.storage
    await client.command({
      query: `INSERT INTO ${db}.reconcile_leases (name, holder, claimed_at, until, version)
        SELECT name, holder, claimed_at, toDateTime64(0, 9, 'UTC'), toUnixTimestamp64Nano(now64(9))
        FROM ${db}.reconcile_leases FINAL
        WHERE name = {name:String} AND holder = {holder:String} AND until > now64(9)`,
      query_params: { name: lease.name, holder: lease.holder },
    })
  }
}
