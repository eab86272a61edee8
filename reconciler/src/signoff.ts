// Sign-off: a reviewer accepts a run's report, which freezes it (the ages and compensation
// counts stop moving). The reviewer must not be who started the run.
import type { Storage } from '@reckon/collector/storage'
import { nanosText, nowNanos } from './nanos.js'
import { getRun, type RunView } from './run-reads.js'

/** Why a sign-off is refused; `statusCode` is the API's answer. */
export class SignOffRefused extends Error {
  override name = 'SignOffRefused'
  constructor(
    message: string,
    readonly statusCode: 403 | 404 | 409,
  ) {
    super(message)
  }
}

export async function signOff(
  storage: Storage,
  runId: string,
  by: string,
  comment: string,
): Promise<RunView> {
  const run = await getRun(storage, runId)
  if (!run) throw new SignOffRefused(`no run ${runId}`, 404)
  if (run.signoff)
    throw new SignOffRefused(
      `${runId} was signed off by ${run.signoff.by} at ${run.signoff.at}`,
      409,
    )
  if (run.state !== 'done' || !run.report)
    throw new SignOffRefused(`${runId} is ${run.state}: only a finished run can be signed off`, 409)
  if (run.dryRun) throw new SignOffRefused(`${runId} is a dry run: it is not the books`, 409)
  if (run.startedBy === by)
    throw new SignOffRefused(
      `${by} started ${runId}: someone else must review it${by === 'local' ? ' (with auth off everyone is local: sign off a scheduled run, or turn auth on)' : ''}`,
      403,
    )
  const { client, database: db } = storage
  // The report as it stands now, frozen into the run's row before the sign-off is recorded.
  await client.command({
    query: `INSERT INTO ${db}.reconcile_runs
      SELECT * REPLACE ({report:String} AS report, {version:UInt64} AS version)
      FROM ${db}.reconcile_runs FINAL WHERE id = {id:String}`,
    query_params: { id: runId, report: JSON.stringify(run.report), version: String(nowNanos()) },
  })
  await client.insert({
    table: `${db}.reconcile_signoffs`,
    format: 'JSONEachRow',
    values: [{ run_id: runId, by, comment, at: nanosText(nowNanos()) }],
    clickhouse_settings: { date_time_input_format: 'best_effort' },
  })
  return (await getRun(storage, runId))!
}
