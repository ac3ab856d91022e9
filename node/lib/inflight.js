'use strict'
// The calls a client made that have not settled yet, so that its
// disconnect() can wait for them: nothing it started settles after
// disconnect() resolved.

class InFlight {
  constructor() {
    this.pending = new Set()
  }

  /** `promise`, counted until it settles; returned as is. */
  track(promise) {
    this.pending.add(promise)
    const done = () => this.pending.delete(promise)
    promise.then(done, done)
    return promise
  }

  /** Resolves once every call tracked so far has settled, however. */
  async settled() {
    await Promise.allSettled([...this.pending])
  }
}

module.exports = { InFlight }
