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

/**
 * Strom's client statistics: with the `statisticsInterval` option (ms),
 * the core reports librdkafka's statistics JSON that often, and it comes
 * out as the `name` event with the parsed object as its payload.
 */
function statistics(options, instrumentation, name) {
  const interval = options.statisticsInterval
  if (interval === undefined || interval === 0) return { settings: [], listener: undefined }
  if (!Number.isInteger(interval) || interval < 0) {
    throw new TypeError('strom: statisticsInterval is a whole number of milliseconds')
  }
  const listener = json => instrumentation.emit(name, JSON.parse(json))
  return { settings: [['statistics.interval.ms', String(interval)]], listener }
}

module.exports = { Instrumentation, statistics }
