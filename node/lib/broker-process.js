'use strict'
// The test broker's process (strom/testing starts it):
//
//   node broker-process.js DATA_DIR strom-args...
//
// Runs `strom server` (given --stop-on-stdin-close: it stops when its
// parent, which holds its stdin pipe, is gone) and then removes the data
// dir: a test runner killed mid-run leaves no broker and no dir behind.
const fs = require('fs')
const { native } = require('./native')

const [dataDir, ...args] = process.argv.slice(2)
const code = native.runCli(['strom', ...args])
fs.rmSync(dataDir, { recursive: true, force: true })
process.exitCode = code
