'use strict'
// A real Strom broker for tests, started in a moment, in a temporary dir:
//
//   const { startBroker } = require('strom/testing')
//   const broker = await startBroker()
//   const kafka = new Kafka({ brokers: broker.brokers })
//   ...
//   await broker.stop()
//
// The broker is this package's own `strom server` (no JVM, no Docker),
// run as a child process on a free port of 127.0.0.1 with a temporary
// data dir; stop() ends it and removes the dir. If this process dies
// without stop() (even by SIGKILL), the broker stops and removes it too.
const { spawn } = require('child_process')
const fs = require('fs')
const os = require('os')
const path = require('path')

// Settings that make a test broker quick to use: groups rebalance at
// once, short consumer session timeouts are allowed.
const TEST_SETTINGS = {
  'group.initial.rebalance.delay.ms': '0',
  'group.min.session.timeout.ms': '500',
}

const READY = /serving Kafka on (\S+) /
const LISTENERS = /listeners (\S+)/

/**
 * Starts a broker. `settings` are broker settings by Kafka's names
 * (`num.partitions`, `auto.create.topics.enable`, ...), over the test
 * defaults. Resolves to { brokers, dataDir, stop() } once it serves.
 */
async function startBroker({ settings = {}, readyTimeoutMs = 30000 } = {}) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'strom-test-'))
  const flags = Object.entries({ ...TEST_SETTINGS, ...settings }).flatMap(([k, v]) => ['--set', `${k}=${v}`])
  // Given `listeners` (e.g. PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0),
  // the broker binds those; else one PLAINTEXT listener on a free port.
  const listen = settings.listeners ? [] : ['--listen', '127.0.0.1:0']
  // stdin is a pipe held open by this process: the broker ends when it closes.
  const child = spawn(
    process.execPath,
    [path.join(__dirname, 'lib', 'broker-process.js'), dataDir, 'server', '--stop-on-stdin-close', ...listen, '--data-dir', dataDir, ...flags],
    { stdio: ['pipe', 'pipe', 'pipe'] }
  )
  let stderr = ''
  child.stderr.on('data', chunk => {
    stderr = (stderr + chunk).slice(-4000)
  })
  const ready = await new Promise((resolve, reject) => {
    let stdout = ''
    const timer = setTimeout(() => fail(new Error(`strom broker not ready after ${readyTimeoutMs} ms:\n${stderr}`)), readyTimeoutMs)
    const fail = error => {
      clearTimeout(timer)
      child.kill('SIGKILL')
      fs.rmSync(dataDir, { recursive: true, force: true })
      reject(error)
    }
    child.stdout.on('data', chunk => {
      stdout += chunk
      const line = READY.exec(stdout)
      if (line && stdout.includes('\n')) {
        clearTimeout(timer)
        const named = LISTENERS.exec(stdout)
        const listeners = {}
        for (const entry of named ? named[1].split(',') : []) {
          const [name, address] = entry.split('://')
          listeners[name] = address
        }
        resolve({ address: line[1], listeners })
      }
    })
    child.once('exit', code => fail(new Error(`strom broker exited (${code}) before it was ready:\n${stderr}`)))
  })
  child.removeAllListeners('exit')
  const exited = new Promise(resolve => child.once('exit', resolve))
  // A test process may end without stop(): the broker goes with it.
  const onExit = () => child.kill('SIGKILL')
  process.once('exit', onExit)
  let stopped = null
  return {
    brokers: [ready.address],
    listeners: ready.listeners,
    dataDir,
    stop() {
      if (!stopped) {
        stopped = (async () => {
          process.removeListener('exit', onExit)
          child.kill('SIGTERM')
          await exited
          fs.rmSync(dataDir, { recursive: true, force: true })
        })()
      }
      return stopped
    },
  }
}

module.exports = { startBroker, TEST_SETTINGS }
