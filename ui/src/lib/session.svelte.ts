// Who is signed in, with which role: what the header shows and what decides which actions
// a page offers (the server checks again; the UI only leaves out what would be refused).
import { api, setCsrfToken } from './api.js'

export type Role = 'ingest' | 'viewer' | 'operator' | 'finance' | 'admin'

export interface Me {
  auth: 'on' | 'off'
  identity: string | null
  role: Role | null
  via: 'local' | 'none' | 'key' | 'session' | null
  csrfToken?: string | null
}

/** The roles each role includes besides itself (the server's table, collector/src/auth/roles.ts). */
const INCLUDES: Record<Role, readonly Role[]> = {
  ingest: [],
  viewer: [],
  operator: ['viewer'],
  finance: ['viewer'],
  admin: ['ingest', 'viewer', 'operator', 'finance'],
}

class Session {
  me = $state<Me | undefined>(undefined)
  error = $state<string | undefined>(undefined)

  async refresh() {
    const me = await api.get<Me>('/api/me')
    this.me = me
    setCsrfToken(me.csrfToken ?? '')
    return me
  }

  /** True when the signed-in caller may do what `role` allows. */
  can(role: Role): boolean {
    const held = this.me?.role
    if (!held) return false
    return held === role || INCLUDES[held].includes(role)
  }

  async signIn(body: { key: string } | { username: string; password: string }) {
    await api.post('/api/session', body)
    return this.refresh()
  }

  async signOut() {
    await api.delete('/api/session')
    setCsrfToken('')
    return this.refresh()
  }
}

export const session = new Session()
