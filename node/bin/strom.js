#!/usr/bin/env node
'use strict'
// `npx strom ...`: the strom command line (broker and client commands),
// carried by the addon so the package needs no second binary.
const { native } = require('../lib/native')

process.exitCode = native.runCli(['strom', ...process.argv.slice(2)])
