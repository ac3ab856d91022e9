'use strict'
// kafkajs options to the client core's settings (librdkafka's names).

/** Settings shared by every client of a `Kafka` instance. */
function clientSettings(options) {
  const brokers = options.brokers
  if (typeof brokers === 'function') {
    throw new TypeError('strom: brokers as a function is not supported; pass the list of host:port strings')
  }
  if (!Array.isArray(brokers) || brokers.length === 0) {
    throw new TypeError('strom: the Kafka constructor needs brokers: ["host:port", ...]')
  }
  for (const unsupported of ['ssl', 'sasl', 'socketFactory']) {
    if (options[unsupported]) {
      // Silently connecting in plaintext where TLS or SASL was asked for
      // would be worse than refusing.
      throw new TypeError(`strom: the ${unsupported} option is not supported yet`)
    }
  }
  const settings = [['bootstrap.servers', brokers.join(',')]]
  if (options.clientId) settings.push(['client.id', String(options.clientId)])
  if (options.connectionTimeout !== undefined) {
    settings.push(['socket.connection.setup.timeout.ms', String(options.connectionTimeout)])
  }
  if (options.requestTimeout !== undefined) {
    settings.push(['request.timeout.ms', String(options.requestTimeout)])
  }
  const retry = options.retry || {}
  if (retry.initialRetryTime !== undefined) settings.push(['retry.backoff.ms', String(retry.initialRetryTime)])
  return settings
}

/**
 * How long kafkajs keeps trying a request: the request timeout plus its
 * retry backoffs (retries, from initialRetryTime doubling up to
 * maxRetryTime). A record not delivered by then fails, as kafkajs's send
 * fails once its retries are spent.
 */
function retryBudgetMs(options) {
  const retry = options.retry || {}
  const retries = retry.retries === undefined ? 5 : retry.retries
  const initial = retry.initialRetryTime === undefined ? 300 : retry.initialRetryTime
  const max = retry.maxRetryTime === undefined ? 30000 : retry.maxRetryTime
  let budget = options.requestTimeout === undefined ? 30000 : options.requestTimeout
  for (let i = 0; i < retries; i++) budget += Math.min(max, initial * 2 ** i)
  return budget
}

/** kafkajs's CompressionTypes values to compression.type. */
const CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd']

function codecName(compression) {
  const name = CODECS[compression === undefined ? 0 : compression]
  if (name === undefined) throw new TypeError(`strom: unknown compression type ${compression}`)
  return name
}

module.exports = { clientSettings, codecName, retryBudgetMs }
