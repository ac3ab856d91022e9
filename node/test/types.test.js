'use strict'
// The TypeScript declarations against the JS API: every runtime export is
// declared and every declared value still exists (the drift check), the
// declared constant objects hold the runtime's keys and values, and the
// TypeScript example type-checks under --strict against them.
const { test } = require('node:test')
const assert = require('node:assert')
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const PACKAGE = path.join(__dirname, '..')
const ROOT = path.join(PACKAGE, '..')
const TSC = path.join(ROOT, 'tests', 'compat', 'node', 'node_modules', '.bin', 'tsc')
const EXAMPLE_TSCONFIG = path.join(ROOT, 'examples', 'node', 'tsconfig.json')

const MODULES = [
  { js: 'index.js', dts: 'index.d.ts' },
  { js: 'testing.js', dts: 'testing.d.ts' },
]

const VALUE_KINDS = new Set(['class', 'const', 'let', 'var', 'function', 'enum', 'namespace'])

/** The top-level `export` declarations of a .d.ts: name -> kind (class, const, interface, type, ...). */
function exportsOf(text) {
  const declared = new Map()
  const re = /^export\s+(?:declare\s+)?(?:abstract\s+)?(class|const|let|var|function|enum|namespace|interface|type)\s+([A-Za-z_$][\w$]*)/gm
  for (const [, kind, name] of text.matchAll(re)) {
    // A name may be both a const and a type (logLevel): the value wins.
    if (!declared.has(name) || VALUE_KINDS.has(kind)) declared.set(name, kind)
  }
  return declared
}

/** The `{ ... }` body following `head` (a regex matching up to its opening brace), or null. */
function bodyAfter(text, head) {
  const match = head.exec(text)
  if (!match) return null
  const open = match.index + match[0].length - 1
  let depth = 0
  for (let i = open; i < text.length; i++) {
    if (text[i] === '{') depth++
    else if (text[i] === '}' && --depth === 0) return text.slice(open + 1, i)
  }
  return null
}

/** The `KEY: TYPE` members of a flat object type body. */
function membersOf(body) {
  const members = new Map()
  for (const line of body.split('\n')) {
    const m = /^\s*(?:readonly\s+)?([A-Za-z_$][\w$]*)\??\s*:\s*(.+?)\s*$/.exec(line)
    if (m) members.set(m[1], m[2])
  }
  return members
}

const escape = name => name.replace(/\$/g, '\\$')

/**
 * Differences between a runtime object and the object type declared for
 * it: `{ readonly KEY: 0 }`, `{ readonly KEY: 'literal' }`,
 * `{ readonly KEY: typeof Name }` (the export Name) or
 * `{ readonly KEY: InterfaceName }` (compared member by member).
 */
function compareObject(text, where, runtime, body, exported) {
  const problems = []
  const members = membersOf(body)
  for (const key of Object.keys(runtime)) {
    if (!members.has(key)) problems.push(`${where}.${key} exists at runtime but is not declared`)
  }
  for (const [key, type] of members) {
    if (!(key in runtime)) {
      problems.push(`${where}.${key} is declared but does not exist at runtime`)
      continue
    }
    const value = runtime[key]
    const literal = /^(-?\d+(?:\.\d+)?|'[^']*'|"[^"]*")$/.exec(type)
    const typeOf = /^typeof\s+([A-Za-z_$][\w$]*)$/.exec(type)
    if (literal) {
      const expected = /^-?\d/.test(type) ? Number(type) : type.slice(1, -1)
      if (value !== expected) problems.push(`${where}.${key} is declared ${type} but is ${JSON.stringify(value)} at runtime`)
    } else if (typeOf) {
      if (value !== exported[typeOf[1]]) problems.push(`${where}.${key} is declared typeof ${typeOf[1]} but is another value`)
    } else if (/^[A-Za-z_$][\w$]*$/.test(type)) {
      const inner = bodyAfter(text, new RegExp(`^export\\s+(?:interface\\s+${escape(type)}\\s*|type\\s+${escape(type)}\\s*=\\s*)\\{`, 'm'))
      if (inner !== null && value !== null && typeof value === 'object') {
        problems.push(...compareObject(text, `${where}.${key}`, value, inner, exported))
      }
    }
  }
  return problems
}

for (const { js, dts } of MODULES) {
  test(`${dts} declares exactly what ${js} exports`, () => {
    const exported = require(path.join(PACKAGE, js))
    const text = fs.readFileSync(path.join(PACKAGE, dts), 'utf8')
    const declared = exportsOf(text)
    const runtime = Object.keys(exported)

    const missing = runtime.filter(name => !VALUE_KINDS.has(declared.get(name)))
    const stale = [...declared].filter(([name, kind]) => VALUE_KINDS.has(kind) && !(name in exported)).map(([name]) => name)
    const callable = [...declared]
      .filter(([name, kind]) => (kind === 'class' || kind === 'function') && name in exported && typeof exported[name] !== 'function')
      .map(([name, kind]) => `${name} (declared ${kind}, is ${typeof exported[name]})`)

    const problems = []
    if (missing.length) problems.push(`exported by ${js} but not declared as a value in ${dts}: ${missing.join(', ')}`)
    if (stale.length) problems.push(`declared in ${dts} but no longer exported by ${js}: ${stale.join(', ')}`)
    if (callable.length) problems.push(`declared callable in ${dts} but not a function at runtime: ${callable.join(', ')}`)
    assert.deepStrictEqual(problems, [], problems.join('\n'))
  })

  test(`${dts} declares the keys and values of ${js}'s constant objects`, () => {
    const exported = require(path.join(PACKAGE, js))
    const text = fs.readFileSync(path.join(PACKAGE, dts), 'utf8')
    const problems = []
    for (const [name, kind] of exportsOf(text)) {
      if (kind !== 'const' || exported[name] === null || typeof exported[name] !== 'object') continue
      const body = bodyAfter(text, new RegExp(`^export\\s+(?:declare\\s+)?const\\s+${escape(name)}\\s*:\\s*\\{`, 'm'))
      if (body !== null) problems.push(...compareObject(text, name, exported[name], body, exported))
    }
    assert.deepStrictEqual(problems, [], problems.join('\n'))
  })
}

test('the TypeScript example type-checks with tsc --strict against the declarations', () => {
  assert.ok(
    fs.existsSync(TSC),
    `no tsc at ${TSC}: run \`npm ci\` in tests/compat/node (typescript is one of its devDependencies)`
  )
  const run = spawnSync(TSC, ['-p', EXAMPLE_TSCONFIG, '--pretty', 'false'], { encoding: 'utf8', timeout: 180000 })
  assert.ifError(run.error)
  const output = `${run.stdout || ''}${run.stderr || ''}`
  assert.strictEqual(run.status, 0, `tsc -p ${path.relative(ROOT, EXAMPLE_TSCONFIG)} exited ${run.status}:\n${output}`)
})
