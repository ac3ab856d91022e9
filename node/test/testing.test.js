'use strict'
// strom/testing's broker outlives no test process: killed without stop(),
// even by SIGKILL, the process takes its broker and data dir with it.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const { spawn } = require('node:child_process')
const fs = require('node:fs')
const net = require('node:net')
const path = require('node:path')
const { until } = require('./helpers')

const TESTING = path.join(__dirname, '..', 'testing.js')

function accepts(address) {
  const [host, port] = address.split(':')
  return new Promise(resolve => {
    const socket = net.connect(Number(port), host)
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

test('a test process killed without stop() takes its broker and data dir with it', async () => {
  const script = `require(${JSON.stringify(TESTING)}).startBroker().then(b => console.log(JSON.stringify(b)))`
  const parent = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
  const broker = await new Promise((resolve, reject) => {
    let out = ''
    parent.stdout.on('data', chunk => {
      out += chunk
      if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]))
    })
    parent.once('exit', code => reject(new Error(`the test process exited (${code}) before its broker was up`)))
  })
  assert.ok(await accepts(broker.brokers[0]), 'the broker serves')
  assert.ok(fs.existsSync(broker.dataDir))
  parent.kill('SIGKILL')
  await until(async () => !(await accepts(broker.brokers[0])) && !fs.existsSync(broker.dataDir), {
    what: 'the broker gone and its data dir removed',
  })
})
