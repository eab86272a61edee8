import type { Storage } from '../../storage/client.js'
import { rowInserter } from '../../storage/insert.js'
import { nanos, select } from '../db.js'

export interface SwitchView {
  name: string
  on: boolean
  flowPinned: boolean
  description: string
  updatedAtUnixNano: string
  updatedBy: string
  reason: string
}

export interface SwitchChange {
  name: string
  on: boolean
  flowPinned: boolean
  description: string
  by: string
  reason: string
}

interface Row {
  name: string
  on: boolean
  flow_pinned: boolean
  description: string
  ts: string
  changed_by: string
  reason: string
}

const toView = (r: Row): SwitchView => ({
  name: r.name,
  on: r.on,
  flowPinned: r.flow_pinned,
  description: r.description,
  updatedAtUnixNano: r.ts,
  updatedBy: r.changed_by,
  reason: r.reason,
})

/** Every switch at its latest change. */
export async function listSwitches(storage: Storage, timeout: number): Promise<SwitchView[]> {
  const rows = await select<Row>(
    storage,
    `SELECT name, argMax(on, changed_at) AS on, argMax(flow_pinned, changed_at) AS flow_pinned,
       argMax(description, changed_at) AS description, ${nanos('max(changed_at)')} AS ts,
       argMax(changed_by, changed_at) AS changed_by, argMax(reason, changed_at) AS reason
     FROM ${storage.database}.switch_changes GROUP BY name ORDER BY name LIMIT 10000`,
    {},
    timeout,
  )
  return rows.map(toView)
}

/** One switch's changes, newest first: the audit trail. */
export async function switchHistory(
  storage: Storage,
  name: string,
  limit: number,
  timeout: number,
): Promise<SwitchView[]> {
  const rows = await select<Row>(
    storage,
    `SELECT name, on, flow_pinned, description, ${nanos('changed_at')} AS ts, changed_by, reason
     FROM ${storage.database}.switch_changes WHERE name = {name:String}
     ORDER BY changed_at DESC LIMIT {limit:UInt32}`,
    { name, limit },
    timeout,
  )
  return rows.map(toView)
}

/** Records a change; it is the switch's value from now on. */
export async function changeSwitch(storage: Storage, c: SwitchChange): Promise<SwitchView> {
  const at = BigInt(Date.now()) * 1_000_000n + BigInt(process.hrtime.bigint() % 1_000_000n)
  const row = {
    changed_at: at.toString(),
    name: c.name,
    on: c.on,
    flow_pinned: c.flowPinned,
    description: c.description,
    changed_by: c.by,
    reason: c.reason,
  }
  await rowInserter(storage)(`${storage.database}.switch_changes`, 'JSONEachRow', [
    Buffer.from(JSON.stringify(row) + '\n'),
  ])
  return {
    name: c.name,
    on: c.on,
    flowPinned: c.flowPinned,
    description: c.description,
    updatedAtUnixNano: at.toString(),
    updatedBy: c.by,
    reason: c.reason,
  }
}
