import type { Policy } from './policy.js'

// Every policy registers itself by kind and name, so metrics can be read for all of them
// without the application wiring each one. A policy created again under the same name
// replaces the old one: memory is bounded by the number of names, as in Resilience4j's
// registries. Create policies once per dependency, not once per call.
const policies = new Map<string, Policy<unknown>>()
const watchers = new Set<(p: Policy<unknown>) => void>()

export function registerPolicy(p: Policy<unknown>): void {
  policies.set(`${p.kind}:${p.name}`, p)
  for (const watch of watchers) {
    try {
      watch(p)
    } catch {
      // A broken exporter hook must not stop a service from building its policies.
    }
  }
}

/** All live policies, in creation order. */
export function registeredPolicies(): Iterable<Policy<unknown>> {
  return policies.values()
}

/** Calls `watch` for every policy, those that exist now and those created later. */
export function watchPolicies(watch: (p: Policy<unknown>) => void): () => void {
  for (const p of policies.values()) watch(p)
  watchers.add(watch)
  return () => watchers.delete(watch)
}
