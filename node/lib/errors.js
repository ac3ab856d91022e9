'use strict'
// kafkajs's error classes, and the one place native errors become them.
// The addon rejects with a reason that carries the core's error facts as
// JSON ({"strom":1,"code":...}); see bindings/node/src/errors.rs.

class KafkaJSError extends Error {
  constructor(e, { retriable = true, cause } = {}) {
    super(e && e.message ? e.message : e, { cause })
    Error.captureStackTrace(this, this.constructor)
    this.name = 'KafkaJSError'
    this.retriable = retriable
    this.helpUrl = e && e.helpUrl
    this.cause = cause
  }
}

class KafkaJSNonRetriableError extends KafkaJSError {
  constructor(e, { cause } = {}) {
    super(e, { retriable: false, cause })
    this.name = 'KafkaJSNonRetriableError'
  }
}

class KafkaJSProtocolError extends KafkaJSError {
  constructor(e, { retriable = e.retriable } = {}) {
    super(e, { retriable })
    this.type = e.type
    this.code = e.code
    this.name = 'KafkaJSProtocolError'
  }
}

class KafkaJSOffsetOutOfRange extends KafkaJSProtocolError {
  constructor(e, { topic, partition } = {}) {
    super(e)
    this.topic = topic
    this.partition = partition
    this.name = 'KafkaJSOffsetOutOfRange'
  }
}

class KafkaJSNumberOfRetriesExceeded extends KafkaJSNonRetriableError {
  constructor(e, { retryCount, retryTime } = {}) {
    super(e, { cause: e })
    this.retryCount = retryCount
    this.retryTime = retryTime
    this.name = 'KafkaJSNumberOfRetriesExceeded'
  }
}

class KafkaJSConnectionError extends KafkaJSError {
  constructor(e, { broker, code } = {}) {
    super(e)
    this.broker = broker
    this.code = code
    this.name = 'KafkaJSConnectionError'
  }
}

class KafkaJSRequestTimeoutError extends KafkaJSError {
  constructor(e, { broker } = {}) {
    super(e)
    this.broker = broker
    this.name = 'KafkaJSRequestTimeoutError'
  }
}

class KafkaJSTimeout extends KafkaJSError {
  constructor(e, options) {
    super(e, options)
    this.name = 'KafkaJSTimeout'
  }
}

class KafkaJSTopicMetadataNotLoaded extends KafkaJSError {
  constructor(e, { topic } = {}) {
    super(e)
    this.topic = topic
    this.name = 'KafkaJSTopicMetadataNotLoaded'
  }
}

class KafkaJSDeleteGroupsError extends KafkaJSError {
  constructor(e, groups = []) {
    super(e)
    this.groups = groups
    this.name = 'KafkaJSDeleteGroupsError'
  }
}

class KafkaJSAggregateError extends Error {
  constructor(message, errors) {
    super(message)
    this.errors = errors
    this.name = 'KafkaJSAggregateError'
  }
}

// librdkafka's local codes the core uses for transport trouble.
const CONNECTION_CODES = new Set([-195, -187]) // _TRANSPORT, _ALL_BROKERS_DOWN
const TIMEOUT_CODES = new Set([-185, -192]) // _TIMED_OUT, _MSG_TIMED_OUT

/** The facts the addon put in a rejection's message, or null. */
function nativeFacts(error) {
  const text = error && typeof error.message === 'string' ? error.message : ''
  if (!text.startsWith('{')) return null
  try {
    const facts = JSON.parse(text)
    return facts.strom === 1 ? facts : null
  } catch (_) {
    return null
  }
}

/** A kafkajs error for a native rejection (other errors pass through). */
function fromNative(error) {
  const facts = nativeFacts(error)
  if (facts === null) {
    if (error && error.code === 'InvalidArg') return new KafkaJSNonRetriableError(error.message)
    return error
  }
  return errorOf(facts)
}

/** A kafkajs error from the facts of one failure (`bindings/node/src/errors.rs`). */
function errorOf(facts) {
  const message = facts.message
  if (facts.kafkaCode !== null && facts.kafkaCode !== undefined) {
    const protocol = { message, type: facts.name, code: facts.kafkaCode, retriable: facts.retriable }
    return facts.kafkaCode === 1 ? new KafkaJSOffsetOutOfRange(protocol) : new KafkaJSProtocolError(protocol)
  }
  if (CONNECTION_CODES.has(facts.code)) return new KafkaJSConnectionError(message, { code: facts.name })
  if (TIMEOUT_CODES.has(facts.code)) return new KafkaJSRequestTimeoutError(message)
  return facts.retriable ? new KafkaJSError(message) : new KafkaJSNonRetriableError(message)
}

/**
 * The error kafkajs's retrier throws once its retries are spent on a
 * retriable one: KafkaJSNumberOfRetriesExceeded, with that error as its
 * `cause` (and `originalError`). The client core retries retriable errors
 * within the budget kafkajs's `retry` gives, so a retriable error that
 * reaches JS from a connect or a send has had its retries.
 */
function retriesSpent(error, retryCount) {
  if (!(error instanceof KafkaJSError) || !error.retriable) return error
  const spent = new KafkaJSNumberOfRetriesExceeded(error, { retryCount })
  spent.originalError = error
  return spent
}

/** `call`, with a retriable failure reported as kafkajs's retrier does. */
async function callRetried(promise, retryCount) {
  try {
    return await promise
  } catch (error) {
    throw retriesSpent(fromNative(error), retryCount)
  }
}

/** Runs a native call, turning its rejection into a kafkajs error. */
async function call(promise) {
  try {
    return await promise
  } catch (error) {
    throw fromNative(error)
  }
}

module.exports = {
  KafkaJSError,
  KafkaJSNonRetriableError,
  KafkaJSProtocolError,
  KafkaJSOffsetOutOfRange,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSConnectionError,
  KafkaJSRequestTimeoutError,
  KafkaJSTimeout,
  KafkaJSTopicMetadataNotLoaded,
  KafkaJSDeleteGroupsError,
  KafkaJSAggregateError,
  fromNative,
  errorOf,
  call,
  callRetried,
}
