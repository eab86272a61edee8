// The packages depend one way: cli composes the others, nothing imports cli, sdk and the UI
// stand alone (the UI takes only types from the API's schemas, erased from what it ships),
// and a package reaches another only through the public exports its package.json names.
// This test reads every source file's imports.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')

interface Workspace {
  name: string
  dir: string
  exports: Record<string, { default?: string; types?: string }>
  bin: Record<string, string>
}

const workspaces: Workspace[] = (
  JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { workspaces: string[] }
).workspaces.map((w) => {
  const pkg = JSON.parse(readFileSync(join(ROOT, w, 'package.json'), 'utf8')) as {
    name: string
    exports?: Workspace['exports']
    bin?: Record<string, string>
  }
  return { name: pkg.name, dir: join(ROOT, w), exports: pkg.exports ?? {}, bin: pkg.bin ?? {} }
})

/** Which workspaces each may import; anything else is a wrong way. */
const MAY_IMPORT: Record<string, string[]> = {
  '@reckon/sdk': [],
  '@reckon/collector': [],
  '@reckon/reconciler': ['@reckon/collector', '@reckon/sdk'],
  '@reckon/cli': ['@reckon/collector', '@reckon/reconciler', '@reckon/ui'],
  '@reckon/ui': ['@reckon/collector', '@reckon/reconciler'],
  '@reckon/shop': ['@reckon/sdk'],
  '@reckon/test': ['@reckon/collector', '@reckon/sdk', '@reckon/shop'],
}

/** Workspaces a package may take types from and nothing else (`import type` only). */
const TYPES_ONLY: Record<string, string[]> = {
  '@reckon/ui': ['@reckon/collector', '@reckon/reconciler'],
}

/** The workspace a file lies in: the deepest whose directory holds it (test/shop in test). */
function owner(file: string): Workspace | undefined {
  return workspaces
    .filter((w) => file.startsWith(w.dir + sep))
    .sort((a, b) => b.dir.length - a.dir.length)[0]
}

function sources(dir: string): string[] {
  const out: string[] = []
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (['node_modules', 'dist', '.turbo', '.reckon'].includes(entry.name)) continue
    const path = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...sources(path))
    else if (/\.(ts|js)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(path)
  }
  return out
}

const IMPORT = /(?:\bfrom\s+|\bimport\s*\(\s*|^\s*import\s+)'([^']+)'/gm
const TYPE_IMPORT = /^\s*import\s+type\s[\s\S]*?\bfrom\s+'([^']+)'/gm

/** Every import that breaks the layout, as "file: specifier (why)". */
function wrongImports(): string[] {
  const wrong: string[] = []
  for (const w of workspaces) {
    for (const file of sources(w.dir)) {
      if (owner(file) !== w) continue
      const text = readFileSync(file, 'utf8')
      const typeOnly = new Set([...text.matchAll(TYPE_IMPORT)].map((m) => m[1]))
      for (const [, spec] of text.matchAll(IMPORT)) {
        if (!spec) continue
        const where = `${relative(ROOT, file)}: ${spec}`
        if (spec.startsWith('.')) {
          const target = owner(resolve(dirname(file), spec))
          if (target !== w)
            wrong.push(`${where} (reaches into ${target?.name ?? 'the repository'})`)
          continue
        }
        const m = /^(@reckon\/[^/]+)(\/.*)?$/.exec(spec)
        if (!m) continue
        const [, name, sub] = m
        const target = workspaces.find((x) => x.name === name)
        if (!target) wrong.push(`${where} (no such workspace)`)
        else if (!(MAY_IMPORT[w.name] ?? []).includes(target.name))
          wrong.push(`${where} (${w.name} may not depend on ${target.name})`)
        else if ((TYPES_ONLY[w.name] ?? []).includes(target.name) && !typeOnly.has(spec))
          wrong.push(`${where} (${w.name} may take only types from ${target.name})`)
        else if (!(`.${sub ?? ''}` in target.exports))
          wrong.push(`${where} (not an export of ${target.name})`)
      }
    }
  }
  return wrong
}

describe('package layout', () => {
  it('has every workspace in the dependency table', () => {
    expect(workspaces.map((w) => w.name).sort()).toEqual(Object.keys(MAY_IMPORT).sort())
  })

  it('imports only one way, and only through public exports', () => {
    expect(wrongImports()).toEqual([])
  })

  it('names only files that exist in exports and bin (after the build)', () => {
    const missing: string[] = []
    for (const w of workspaces) {
      for (const [path, target] of Object.entries(w.exports)) {
        for (const file of [target.default, target.types]) {
          if (file && !existsSync(join(w.dir, file))) missing.push(`${w.name} ${path}: ${file}`)
        }
      }
      for (const [bin, file] of Object.entries(w.bin)) {
        if (!existsSync(join(w.dir, file))) missing.push(`${w.name} bin ${bin}: ${file}`)
      }
    }
    expect(missing).toEqual([])
  })

  it('has one bin, reckon, in @reckon/cli', () => {
    const bins = workspaces.flatMap((w) => Object.keys(w.bin).map((b) => `${w.name} ${b}`))
    expect(bins).toEqual(['@reckon/cli reckon'])
  })
})
