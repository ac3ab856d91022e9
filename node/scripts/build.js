#!/usr/bin/env node
'use strict'
// The package's install step: builds the addon (strom.node) from the Rust
// sources when the package sits in a Strom checkout, and otherwise uses
// the prebuilt strom.node a packed tarball carries.
//
//   STROM_NODE_PROFILE=debug   build without optimisations (the test suite)
//   STROM_NODE_SKIP_BUILD=1    keep whatever strom.node is there
const { execFileSync } = require('child_process')
const fs = require('fs')
const path = require('path')

const packageDir = path.resolve(__dirname, '..')
const repoRoot = path.resolve(packageDir, '..')
const addon = path.join(packageDir, 'strom.node')
const inCheckout = fs.existsSync(path.join(repoRoot, 'bindings', 'node', 'Cargo.toml'))

function fail(message) {
  console.error(`strom: ${message}`)
  process.exit(1)
}

if (process.env.STROM_NODE_SKIP_BUILD || !inCheckout) {
  if (!fs.existsSync(addon)) {
    fail('no prebuilt addon (strom.node) in this package and no Rust sources to build it from')
  }
  process.exit(0)
}

const profile = process.env.STROM_NODE_PROFILE === 'debug' ? 'debug' : 'release'
const args = ['build', '-p', 'strom-node', '--message-format', 'json-render-diagnostics']
if (profile === 'release') args.push('--release')
console.error(`strom: building the native addon (cargo ${args.slice(0, 3).join(' ')}, ${profile}); the first build takes a few minutes`)
let output
try {
  output = execFileSync('cargo', args, { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 28 })
} catch (error) {
  fail(error.code === 'ENOENT' ? 'cargo is not on the PATH: install a Rust toolchain (https://rustup.rs) and reinstall' : 'building the addon failed (see above)')
}
// Cargo names the library it built; that is the file to load.
const library = output
  .split('\n')
  .filter(line => line.startsWith('{'))
  .map(line => JSON.parse(line))
  .filter(m => m.reason === 'compiler-artifact' && m.target && m.target.name === 'strom_node')
  .flatMap(m => m.filenames)
  .find(f => /\.(so|dylib|dll)$/.test(f))
if (!library) fail('cargo built no strom_node library')
fs.copyFileSync(library, `${addon}.tmp`)
if (profile === 'release') {
  // The release profile keeps line tables for backtraces; the package
  // need not carry them (a tenth of the size). Best effort.
  try {
    execFileSync('strip', ['--strip-debug', `${addon}.tmp`], { stdio: 'ignore' })
  } catch (_) {}
}
fs.renameSync(`${addon}.tmp`, addon)
