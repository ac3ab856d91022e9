'use strict'
// Loads the addon: `strom.node` next to this package (built by
// `npm install` from the Rust sources, or shipped prebuilt in a packed
// tarball), or the file STROM_NODE_ADDON names.
const path = require('path')

const file = process.env.STROM_NODE_ADDON || path.join(__dirname, '..', 'strom.node')
let native
try {
  native = require(file)
} catch (error) {
  throw new Error(
    `strom: cannot load the native addon ${file} (${error.message}). ` +
      'Reinstall the package with a Rust toolchain on the PATH (npm install builds it), or set STROM_NODE_ADDON.'
  )
}

let shutdownRegistered = false
/** Stops the client runtime when the process exits (after the event loop drained). */
function registerShutdown() {
  if (shutdownRegistered) return
  shutdownRegistered = true
  process.once('exit', () => native.shutdownRuntime(1000))
}

module.exports = { native, registerShutdown }
