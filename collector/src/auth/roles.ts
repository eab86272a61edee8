/**
 * Who may do what. A route declares the one role it needs (`config: { role }` in its route
 * options); a caller holding that role, or one that includes it, is let through.
 */
export const ROLES = ['ingest', 'viewer', 'operator', 'finance', 'admin'] as const
export type Role = (typeof ROLES)[number]

/** What a route needs: a role, or nothing at all (`public`: health probes, sign-in, docs). */
export type RouteRole = Role | 'public'

/** What each role may do, as the README and `reckon keys --help` say it. */
export const ROLE_DESCRIPTIONS: Record<Role, string> = {
  ingest: 'send telemetry and business events (port 4318) and nothing else',
  viewer: 'read everything: traces, flows, services, breakers, health, switches, reconciliation',
  operator:
    'viewer, and flip switches, act on findings (retry, resolve, ignore), start runs, import files',
  finance: 'viewer, and sign off reconciliation reports',
  admin: 'everything: every role above, API keys and the audit log',
}

/** The roles each role includes besides itself. */
const INCLUDES: Record<Role, readonly Role[]> = {
  ingest: [],
  viewer: [],
  operator: ['viewer'],
  finance: ['viewer'],
  admin: ['ingest', 'viewer', 'operator', 'finance'],
}

/** True when a caller holding `held` may use a route that needs `needed`. */
export function allows(held: Role, needed: RouteRole): boolean {
  return needed === 'public' || held === needed || INCLUDES[held].includes(needed)
}

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value)
}
