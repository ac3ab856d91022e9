'use strict'
// The test broker's process (strom/testing starts it):
//
//   node broker-process.js DATA_DIR strom-args...
//
// Runs `strom server` until told to stop (SIGTERM) or until its parent is
// gone (its stdin, a pipe from the parent, closes), then removes the data
// dir: a test runner killed mid-run leaves no broker and no dir behind.
const fs = require('fs')
const { native } = require('./native')

const [dataDir, ...args] = process.argv.slice(2)
native.exitWhenStdinCloses()
const code = native.runCli(['strom', ...args])
fs.rmSync(dataDir, { recursive: true, force: true })
process.exitCode = code
