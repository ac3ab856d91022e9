'use strict'
// kafkajs's producer on the native one. `send` takes kafkajs's message
// shape and resolves to its RecordMetadata[]: one entry per partition
// written, with the first offset written there.
const { native } = require('./native')
const { call, callRetried, KafkaJSNonRetriableError } = require('./errors')
const { codecName } = require('./config')
const { Instrumentation, statistics } = require('./events')
const { packMessages } = require('./packed')
const { InFlight } = require('./inflight')

const PRODUCER_EVENTS = Object.freeze({
  CONNECT: 'producer.connect',
  DISCONNECT: 'producer.disconnect',
  REQUEST: 'producer.network.request',
  REQUEST_TIMEOUT: 'producer.network.request_timeout',
  REQUEST_QUEUE_SIZE: 'producer.network.request_queue_size',
  // Strom's: librdkafka's statistics every `statisticsInterval` ms.
  STATS: 'producer.stats',
})

/** kafkajs's RecordMetadata: the addon gives the first offset written in each partition. */
const recordMetadata = firsts =>
  firsts.map(d => ({
    topicName: d.topic,
    partition: d.partition,
    errorCode: 0,
    baseOffset: String(d.offset),
    logAppendTime: '-1',
    logStartOffset: '-1',
  }))

// kafkajs's partitioners. The core puts keyed records where Java's
// murmur2 does, which is kafkajs's DefaultPartitioner (its
// JavaCompatiblePartitioner); other partitioners are refused.
const javaCompatible = () => () => {
  throw new Error('strom: partitioners are chosen by name, not called')
}
const Partitioners = Object.freeze({
  DefaultPartitioner: javaCompatible,
  JavaCompatiblePartitioner: javaCompatible,
  LegacyPartitioner: () => () => {
    throw new Error('strom: the LegacyPartitioner is not supported')
  },
})

class Producer {
  constructor(settings, options = {}) {
    if (options.createPartitioner && options.createPartitioner !== javaCompatible) {
      throw new KafkaJSNonRetriableError(
        "strom: only kafkajs's DefaultPartitioner (Java's murmur2) is supported; custom and legacy partitioners are not yet"
      )
    }
    this.settings = settings
    this.options = options
    // kafkajs takes acks and compression per send; the core sets them per
    // producer, so there is one native producer per combination used.
    this.natives = new Map()
    this.inflight = new InFlight() // sends not settled yet: disconnect() waits for them
    this.connected = false
    this.events = PRODUCER_EVENTS
    this.instrumentation = new Instrumentation(PRODUCER_EVENTS)
    this.statistics = statistics(options, this.instrumentation, PRODUCER_EVENTS.STATS)
  }

  /**
   * The native producer for a send's acks, compression and timeout (how
   * long the broker may take to answer: the produce request's timeout,
   * request.timeout.ms here), made on first use.
   */
  async nativeFor(acks, compression, timeout) {
    const key = `${acks}/${compression}/${timeout}`
    let pending = this.natives.get(key)
    if (!pending) {
      const settings = [
        ...this.settings,
        ['acks', String(acks)],
        ['compression.type', compression],
        // kafkajs puts a send's messages for one partition in one batch,
        // however many: batches as large as librdkafka's, not Java's 16 KiB.
        ['batch.size', '1000000'],
        ['enable.idempotence', this.options.idempotent && acks === -1 ? 'true' : 'false'],
        ...this.statistics.settings,
      ]
      if (timeout !== undefined) settings.push(['request.timeout.ms', String(timeout)])
      if (this.options.allowAutoTopicCreation === false) settings.push(['allow.auto.create.topics', 'false'])
      if (this.options.maxInFlightRequests) {
        settings.push(['max.in.flight.requests.per.connection', String(this.options.maxInFlightRequests)])
      }
      pending = callRetried(
        native.createProducer(settings, this.options.tokenCallback, this.statistics.listener),
        this.options.retries
      )
      this.natives.set(key, pending)
      pending.catch(() => this.natives.delete(key))
    }
    return pending
  }

  async connect() {
    await this.nativeFor(-1, 'none')
    this.connected = true
    this.instrumentation.emit(PRODUCER_EVENTS.CONNECT)
  }

  /** Waits for the sends already made (they settle first), then closes. */
  async disconnect() {
    this.connected = false
    await this.inflight.settled()
    const natives = [...this.natives.values()]
    this.natives.clear()
    for (const pending of natives) {
      const producer = await pending.catch(() => null)
      if (producer) await call(producer.close(30000))
    }
    this.instrumentation.emit(PRODUCER_EVENTS.DISCONNECT)
  }

  async send({ topic, messages, acks = -1, timeout, compression } = {}) {
    if (!topic) throw new KafkaJSNonRetriableError('Invalid topic')
    if (!Array.isArray(messages)) throw new KafkaJSNonRetriableError(`Invalid messages array [${messages}] for topic "${topic}"`)
    return this.sendBatch({ topicMessages: [{ topic, messages }], acks, timeout, compression })
  }

  async sendBatch({ topicMessages = [], acks = -1, timeout, compression } = {}) {
    if (!this.connected) {
      throw new KafkaJSNonRetriableError('The producer is disconnected')
    }
    const packed = packMessages(topicMessages)
    if (packed.count === 0) return []
    const sending = this.nativeFor(Number(acks), codecName(compression), timeout).then(producer =>
      callRetried(producer.sendPacked(packed.topics, packed.buffer), this.options.retries)
    )
    return recordMetadata(await this.inflight.track(sending))
  }

  on(name, listener) {
    return this.instrumentation.on(name, listener)
  }

  isIdempotent() {
    return Boolean(this.options.idempotent)
  }

  transaction() {
    throw new KafkaJSNonRetriableError('strom: transactions are not supported yet')
  }

  logger() {
    return this.options.logger
  }
}

module.exports = { Producer, PRODUCER_EVENTS, Partitioners }
