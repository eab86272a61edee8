// Every temporary directory of a test run (engine data, spool files, configs) is made under
// one, through TMPDIR, which the test processes inherit; it is removed when the run ends.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'reckon-test-run-'))
  // Others may pass through (not list): the test PostgreSQL runs as its own user.
  chmodSync(dir, 0o711)
  process.env.TMPDIR = dir
  return () => rmSync(dir, { recursive: true, force: true })
}
