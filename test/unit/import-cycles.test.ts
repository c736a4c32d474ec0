import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const FOLDERS = ['lib', 'contracts', 'usuarios', 'pagos', 'gateway']

function sources (dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return sources(path)
    return name.endsWith('.ts') ? [path] : []
  })
}

/** Relative imports of a file (type-only ones too: a cycle of types is still a cycle to read). */
function importsOf (file: string): string[] {
  const text = readFileSync(file, 'utf8')
  const found = [...text.matchAll(/(?:import|export)[^'"]*?from\s+'(\.[^']+)'/g)].map((m) => m[1]!)
  return found.map((spec) => resolve(dirname(file), spec.replace(/\.js$/, '.ts')))
}

/** Every import cycle among the files, each as the list of files walked. */
function cycles (files: string[]): string[][] {
  const known = new Set(files)
  const graph = new Map(files.map((f) => [f, importsOf(f).filter((d) => known.has(d))]))
  const found: string[][] = []
  const state = new Map<string, 'open' | 'done'>()
  const stack: string[] = []
  const visit = (f: string): void => {
    state.set(f, 'open')
    stack.push(f)
    for (const d of graph.get(f) ?? []) {
      if (state.get(d) === 'open') found.push([...stack.slice(stack.indexOf(d)), d])
      else if (state.get(d) === undefined) visit(d)
    }
    stack.pop()
    state.set(f, 'done')
  }
  for (const f of files) if (state.get(f) === undefined) visit(f)
  return found
}
t.test('no import cycle in lib, contracts or the services', async (t) => {
  const files = FOLDERS.flatMap((f) => sources(join(ROOT, f)))
  const found = cycles(files).map((c) => c.map((f) => relative(ROOT, f)).join(' → '))
  t.same(found, [], found.join('\n'))
})
