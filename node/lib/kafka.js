'use strict'
// kafkajs's `Kafka` entry point: the factory of producers, consumers and
// admin clients, with kafkajs's constants.
const { registerShutdown } = require('./native')
const { clientSettings, retryBudgetMs, tokenCallback } = require('./config')
const { Producer } = require('./producer')
const { Consumer } = require('./consumer')
const { Admin } = require('./admin')

const logLevel = Object.freeze({ NOTHING: 0, ERROR: 1, WARN: 2, INFO: 4, DEBUG: 5 })
const CompressionTypes = Object.freeze({ None: 0, GZIP: 1, Snappy: 2, LZ4: 3, ZSTD: 4 })
const ResourceTypes = Object.freeze({ UNKNOWN: 0, ANY: 1, TOPIC: 2, GROUP: 3, CLUSTER: 4, TRANSACTIONAL_ID: 5, DELEGATION_TOKEN: 6 })
const AclOperationTypes = Object.freeze({
  UNKNOWN: 0, ANY: 1, ALL: 2, READ: 3, WRITE: 4, CREATE: 5, DELETE: 6, ALTER: 7, DESCRIBE: 8,
  CLUSTER_ACTION: 9, DESCRIBE_CONFIGS: 10, ALTER_CONFIGS: 11, IDEMPOTENT_WRITE: 12,
})
const AclPermissionTypes = Object.freeze({ UNKNOWN: 0, ANY: 1, DENY: 2, ALLOW: 3 })
const ResourcePatternTypes = Object.freeze({ UNKNOWN: 0, ANY: 1, MATCH: 2, LITERAL: 3, PREFIXED: 4 })
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
function defaultLogCreator() {
  return ({ namespace, label, log }) => {
    const { message, timestamp, logger, ...extra } = log
    const line = JSON.stringify({ level: label, timestamp, logger, message, namespace, ...extra })
    ;(label === 'ERROR' ? console.error : console.log)(line)
  }
}

/**
 * kafkajs's logger: `logCreator(logLevel)` makes the function each entry
 * goes to ({ namespace, level, label, log: { timestamp, logger, message,
 * ...extra } }); `namespace(name)` gives a logger writing under that name,
 * `setLogLevel` changes the level of all of them.
 */
function makeLogger(options) {
  const shared = { level: options.logLevel === undefined ? logLevel.INFO : options.logLevel }
  const write = (options.logCreator || defaultLogCreator)(shared.level)
  const labels = { [logLevel.ERROR]: 'ERROR', [logLevel.WARN]: 'WARN', [logLevel.INFO]: 'INFO', [logLevel.DEBUG]: 'DEBUG' }
  const loggerFor = namespace => {
    const at = entryLevel => (message, extra = {}) => {
      if (entryLevel > shared.level) return
      write({ namespace, level: entryLevel, label: labels[entryLevel], log: { timestamp: new Date().toISOString(), logger: 'strom', message, ...extra } })
    }
    return {
      error: at(logLevel.ERROR),
      warn: at(logLevel.WARN),
      info: at(logLevel.INFO),
      debug: at(logLevel.DEBUG),
      namespace: (name, level) => {
        if (level !== undefined) shared.level = level
        return loggerFor(name)
      },
      setLogLevel: level => {
        shared.level = level
      },
    }
  }
  return loggerFor('')
}

class Kafka {
  constructor(options = {}) {
    this.settings = clientSettings(options)
    // Handed to each native client with its settings: a function cannot
    // travel in the [name, value] pairs.
    this.tokenCallback = tokenCallback(options)
    this.retryBudgetMs = retryBudgetMs(options)
    // kafkajs's retry.retries, for the retryCount of KafkaJSNumberOfRetriesExceeded.
    this.retries = options.retry && options.retry.retries !== undefined ? options.retry.retries : 5
    this.log = makeLogger(options)
    registerShutdown()
  }

  producer(options = {}) {
    const settings = [...this.settings, ['delivery.timeout.ms', String(this.retryBudgetMs)]]
    return new Producer(settings, { ...options, logger: this.log, retries: this.retries, tokenCallback: this.tokenCallback })
  }

  consumer(options = {}) {
    return new Consumer(this.settings, { ...options, logger: this.log, retries: this.retries, tokenCallback: this.tokenCallback })
  }

  admin(options = {}) {
    return new Admin(this.settings, { ...options, logger: this.log, retries: this.retries, tokenCallback: this.tokenCallback })
  }

  logger() {
    return this.log
  }
}

module.exports = {
  Kafka,
  logLevel,
  CompressionTypes,
  ResourceTypes,
  ConfigResourceTypes,
  ConfigSource,
  AclOperationTypes,
  AclPermissionTypes,
  ResourcePatternTypes,
}
