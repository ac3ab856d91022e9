// The examples, run as a user runs them, against the bundled broker:
// admin creates the topic, the producer writes two orders, the consumer
// group reads them back. `require('strom')` finds this checkout's
// package through NODE_PATH, as it would find an installed one.
const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('fs')
const os = require('os')
const path = require('path')
const { execFileSync } = require('child_process')
const packageDir = path.join(__dirname, '..', '..', 'node')
const { startBroker } = require(path.join(packageDir, 'testing'))

let broker
let modules
before(async () => {
  broker = await startBroker()
  modules = fs.mkdtempSync(path.join(os.tmpdir(), 'strom-examples-'))
  fs.symlinkSync(packageDir, path.join(modules, 'strom'), 'dir')
})
after(async () => {
  await broker.stop()
  fs.rmSync(modules, { recursive: true, force: true })
})

const run = example =>
  execFileSync(process.execPath, [path.join(__dirname, example)], {
    env: { ...process.env, BROKERS: broker.brokers.join(','), NODE_PATH: modules },
    encoding: 'utf8',
    timeout: 60000,
  })

test('admin, producer and consumer examples', () => {
  assert.match(run('admin.js'), /created orders\norders has 3 partitions\nretention.ms = 604800000\n/)
  assert.match(run('producer.js'), /wrote to orders\[\d\] from offset 0/)
  const read = run('consumer.js')
  assert.match(read, /customer-1: 42 apples \(partition \d, offset 0, from web\)/)
  assert.match(read, /customer-2: 7 pears \(partition \d, offset 0, from app\)/)
})

test('the TypeScript example compiles under --strict and runs', () => {
  const tsc = path.join(__dirname, '..', '..', 'tests', 'compat', 'node', 'node_modules', '.bin', 'tsc')
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'strom-ts-'))
  try {
    execFileSync(tsc, ['-p', path.join(__dirname, 'tsconfig.json'), '--noEmit', 'false', '--outDir', out], { encoding: 'utf8' })
    const printed = execFileSync(process.execPath, [path.join(out, 'typescript-example.js')], {
      env: { ...process.env, NODE_PATH: modules },
      encoding: 'utf8',
      timeout: 60000,
    })
    assert.equal(printed.match(/key-\d = value-\d/g).length, 5, printed)
  } finally {
    fs.rmSync(out, { recursive: true, force: true })
  }
})
