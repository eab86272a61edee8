// The service map's layout: dagre places services left to right by who calls whom, so the
// entry points sit on the left and the leaves on the right.
import dagre from '@dagrejs/dagre'
import type { DependencyView } from './types.js'

export interface MapNode {
  id: string
  x: number
  y: number
  w: number
  h: number
}
export interface MapEdge {
  from: string
  to: string
  calls: number
  errors: number
  points: { x: number; y: number }[]
}

const NODE_H = 36

export function layoutServiceMap(deps: DependencyView[], services: string[]) {
  const g = new dagre.graphlib.Graph()
  g.setGraph({ rankdir: 'LR', nodesep: 30, ranksep: 90, marginx: 10, marginy: 10 })
  g.setDefaultEdgeLabel(() => ({}))
  const names = new Set([...services, ...deps.flatMap((d) => [d.caller, d.callee])])
  for (const n of names) g.setNode(n, { width: Math.max(90, n.length * 8 + 24), height: NODE_H })
  for (const d of deps) if (d.caller !== d.callee) g.setEdge(d.caller, d.callee)
  dagre.layout(g)
  const nodes: MapNode[] = [...names].map((id) => {
    const n = g.node(id) as { x: number; y: number; width: number; height: number }
    return { id, x: n.x, y: n.y, w: n.width, h: n.height }
  })
  const edges: MapEdge[] = deps
    .filter((d) => d.caller !== d.callee)
    .map((d) => ({
      from: d.caller,
      to: d.callee,
      calls: d.calls,
      errors: d.errors,
      points:
        (g.edge(d.caller, d.callee) as { points?: MapEdge['points'] } | undefined)?.points ?? [],
    }))
  const graph = g.graph() as { width?: number; height?: number }
  return { nodes, edges, width: graph.width ?? 0, height: graph.height ?? 0 }
}
