'use strict'
// kafkajs's `Kafka` entry point: the factory of producers, consumers and
// admin clients, with kafkajs's constants.
const { registerShutdown } = require('./native')
const { clientSettings, retryBudgetMs } = require('./config')
const { Producer } = require('./producer')
const { Consumer } = require('./consumer')
const { Admin } = require('./admin')

const logLevel = Object.freeze({ NOTHING: 0, ERROR: 1, WARN: 2, INFO: 4, DEBUG: 5 })
const CompressionTypes = Object.freeze({ None: 0, GZIP: 1, Snappy: 2, LZ4: 3, ZSTD: 4 })
const ResourceTypes = Object.freeze({ UNKNOWN: 0, ANY: 1, TOPIC: 2, GROUP: 3, CLUSTER: 4, TRANSACTIONAL_ID: 5, DELEGATION_TOKEN: 6 })
const ConfigResourceTypes = Object.freeze({ UNKNOWN: 0, TOPIC: 2, BROKER: 4, BROKER_LOGGER: 8 })
const ConfigSource = Object.freeze({
  UNKNOWN: 0,
  TOPIC_CONFIG: 1,
  DYNAMIC_BROKER_CONFIG: 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
  DYNAMIC_BROKER_LOGGER_CONFIG: 6,
})

/** kafkajs's default logger: one JSON line per entry on the console. */
function defaultLogCreator(level) {
  const names = { 1: 'ERROR', 2: 'WARN', 4: 'INFO', 5: 'DEBUG' }
  return ({ namespace, level: entryLevel, log }) => {
    if (entryLevel > level) return
    const { message, ...extra } = log
    const line = JSON.stringify({ level: names[entryLevel], timestamp: new Date().toISOString(), logger: 'strom', message, namespace, ...extra })
    ;(entryLevel <= 1 ? console.error : console.log)(line)
  }
}

function makeLogger(options) {
  const level = options.logLevel === undefined ? logLevel.INFO : options.logLevel
  const write = (options.logCreator || defaultLogCreator)(level)
  const at = entryLevel => (message, extra = {}) =>
    write({ namespace: '', level: entryLevel, label: Object.keys(logLevel).find(k => logLevel[k] === entryLevel), log: { message, ...extra } })
  const logger = {
    error: at(logLevel.ERROR),
    warn: at(logLevel.WARN),
    info: at(logLevel.INFO),
    debug: at(logLevel.DEBUG),
    namespace: () => logger,
    setLogLevel: () => {},
  }
  return logger
}

class Kafka {
  constructor(options = {}) {
    this.settings = clientSettings(options)
    this.retryBudgetMs = retryBudgetMs(options)
    this.log = makeLogger(options)
    registerShutdown()
  }

  producer(options = {}) {
    const settings = [...this.settings, ['delivery.timeout.ms', String(this.retryBudgetMs)]]
    return new Producer(settings, { ...options, logger: this.log })
  }

  consumer(options = {}) {
    return new Consumer(this.settings, { ...options, logger: this.log })
  }

  admin(options = {}) {
    return new Admin(this.settings, { ...options, logger: this.log })
  }

  logger() {
    return this.log
  }
}

module.exports = { Kafka, logLevel, CompressionTypes, ResourceTypes, ConfigResourceTypes, ConfigSource }
