'use strict'
// kafkajs's instrumentation events: `client.on(name, listener)` returns a
// function that removes the listener; a listener gets
// `{ id, type, timestamp, payload }`.
const { EventEmitter } = require('events')

let nextId = 0

class Instrumentation {
  constructor(names) {
    this.names = new Set(Object.values(names))
    this.emitter = new EventEmitter()
  }

  on(name, listener) {
    if (!this.names.has(name)) {
      throw new TypeError(`strom: unknown event ${name}; one of ${[...this.names].join(', ')}`)
    }
    this.emitter.on(name, listener)
    return () => this.emitter.removeListener(name, listener)
  }

  emit(name, payload = {}) {
    if (this.emitter.listenerCount(name) === 0) return
    const event = { id: nextId++, type: name, timestamp: Date.now(), payload }
    for (const listener of this.emitter.listeners(name)) {
      try {
        const result = listener(event)
        if (result && typeof result.catch === 'function') result.catch(() => {})
      } catch (_) {
        // kafkajs ignores listener failures too.
      }
    }
  }
}

module.exports = { Instrumentation }
