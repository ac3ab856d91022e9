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
  if (options.socketFactory) {
    // Silently connecting another way than asked would be worse than refusing.
    throw new TypeError('strom: the socketFactory option is not supported')
  }
  const settings = [['bootstrap.servers', brokers.join(',')], ...securitySettings(options)]
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
 * kafkajs's `sasl.oauthBearerProvider` (resolving to `{ value: token }`)
 * as the function the native client calls at each login, resolving to
 * the token's text; undefined without OAUTHBEARER.
 */
function tokenCallback(options) {
  const sasl = options.sasl
  if (!sasl || String(sasl.mechanism).toLowerCase() !== 'oauthbearer') return undefined
  const provider = sasl.oauthBearerProvider
  return async () => {
    const token = await provider()
    if (!token || typeof token.value !== 'string') {
      throw new TypeError('oauthBearerProvider must resolve to { value: token } with the token as a string')
    }
    return token.value
  }
}

/** PEM text of a kafkajs `ssl` field: a string, a Buffer or an array of them. */
function pemText(value) {
  const items = Array.isArray(value) ? value : [value]
  return items.map(item => (Buffer.isBuffer(item) ? item.toString('utf8') : String(item))).join('\n')
}

const SASL_MECHANISMS = {
  plain: 'PLAIN',
  'scram-sha-256': 'SCRAM-SHA-256',
  'scram-sha-512': 'SCRAM-SHA-512',
  oauthbearer: 'OAUTHBEARER',
}

/**
 * kafkajs's `ssl` (true, or tls.connect options: ca, cert, key) and
 * `sasl` ({ mechanism, username, password }, or for oauthbearer
 * { mechanism, oauthBearerProvider }) as security.protocol, the
 * ssl.*.pem settings and the sasl.* settings.
 */
function securitySettings(options) {
  const { ssl, sasl } = options
  const settings = []
  if (ssl) {
    if (typeof ssl === 'object') {
      if (ssl.rejectUnauthorized === false) {
        throw new TypeError('strom: ssl.rejectUnauthorized false is not supported: give the broker\'s CA as ssl.ca')
      }
      if (ssl.ca) settings.push(['ssl.ca.pem', pemText(ssl.ca)])
      if (ssl.cert) settings.push(['ssl.certificate.pem', pemText(ssl.cert)])
      if (ssl.key) settings.push(['ssl.key.pem', pemText(ssl.key)])
      if (ssl.passphrase) settings.push(['ssl.key.password', String(ssl.passphrase)])
    }
  }
  if (sasl) {
    const mechanism = SASL_MECHANISMS[String(sasl.mechanism).toLowerCase()]
    if (!mechanism) {
      throw new TypeError(`strom: sasl mechanism ${sasl.mechanism} is not supported; use plain, scram-sha-256, scram-sha-512 or oauthbearer`)
    }
    settings.push(['sasl.mechanisms', mechanism])
    if (mechanism === 'OAUTHBEARER') {
      if (typeof sasl.oauthBearerProvider !== 'function') {
        throw new TypeError('strom: sasl mechanism oauthbearer needs oauthBearerProvider: async () => ({ value: token })')
      }
    } else {
      settings.push(['sasl.username', String(sasl.username)], ['sasl.password', String(sasl.password)])
    }
  }
  const protocol = ssl ? (sasl ? 'SASL_SSL' : 'SSL') : sasl ? 'SASL_PLAINTEXT' : 'PLAINTEXT'
  settings.unshift(['security.protocol', protocol])
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

module.exports = { clientSettings, codecName, retryBudgetMs, tokenCallback }
