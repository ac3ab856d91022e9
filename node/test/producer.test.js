'use strict'
const { test } = require('node:test')
const assert = require('node:assert/strict')
const { CompressionTypes, KafkaJSProtocolError, KafkaJSNonRetriableError, KafkaJSNumberOfRetriesExceeded, KafkaJSConnectionError } = require('..')
const { useBroker, until, unique, createTopic, onKafka, checkConnectEvents } = require('./helpers')

const ctx = useBroker()

/** Every message of `topic` (from the beginning), read by a fresh group. */
async function readAll(topic, count) {
  const consumer = ctx.kafka.consumer({ groupId: unique('reader') })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  const got = []
  await consumer.run({ eachMessage: async ({ partition, message }) => got.push({ partition, ...message }) })
  await until(() => got.length >= count, { what: `${count} messages of ${topic}` })
  await consumer.disconnect()
  return got.sort((a, b) => a.partition - b.partition || Number(a.offset) - Number(b.offset))
}

test('send resolves to kafkajs RecordMetadata, one entry per partition at its first offset', async () => {
  const topic = await createTopic(ctx.kafka, unique('meta'), 2)
  const producer = ctx.kafka.producer()
  await producer.connect()
  const first = await producer.send({ topic, messages: [{ value: 'a', partition: 0 }, { value: 'b', partition: 0 }, { value: 'c', partition: 1 }] })
  assert.deepEqual(
    first.sort((a, b) => a.partition - b.partition),
    [
      { topicName: topic, partition: 0, errorCode: 0, baseOffset: '0', logAppendTime: '-1', logStartOffset: '-1' },
      { topicName: topic, partition: 1, errorCode: 0, baseOffset: '0', logAppendTime: '-1', logStartOffset: '-1' },
    ]
  )
  const second = await producer.send({ topic, messages: [{ value: 'd', partition: 0 }] })
  assert.equal(second[0].baseOffset, '2')
  await producer.disconnect()
})

test('keys, values and headers: Buffer, string or null in, Buffer or null out; timestamps kept', async () => {
  const topic = await createTopic(ctx.kafka, unique('shapes'))
  const producer = ctx.kafka.producer()
  await producer.connect()
  await producer.send({
    topic,
    messages: [
      { key: 'k1', value: Buffer.from([0, 1, 2]), headers: { a: 'x', b: Buffer.from('y'), many: ['1', '2'] }, timestamp: '1700000000000' },
      { key: null, value: null },
      { value: 'no key' },
      { key: 'ключ', value: '', headers: { 'h-ü': 'ö', empty: Buffer.alloc(0) } },
    ],
  })
  await producer.disconnect()
  const [one, tombstone, plain, unicode] = await readAll(topic, 4)
  assert.deepEqual(one.key, Buffer.from('k1'))
  assert.deepEqual(one.value, Buffer.from([0, 1, 2]))
  assert.deepEqual(one.headers, { a: Buffer.from('x'), b: Buffer.from('y'), many: [Buffer.from('1'), Buffer.from('2')] })
  assert.equal(one.timestamp, '1700000000000')
  assert.equal(tombstone.key, null)
  assert.equal(tombstone.value, null)
  assert.equal(plain.key, null)
  assert.deepEqual(plain.value, Buffer.from('no key'))
  assert.equal(typeof plain.offset, 'string')
  assert.deepEqual(unicode.key, Buffer.from('ключ'))
  assert.deepEqual(unicode.value, Buffer.alloc(0), 'an empty value stays empty, not null')
  assert.deepEqual(unicode.headers, { 'h-ü': Buffer.from('ö'), empty: Buffer.alloc(0) })
})

test('one send bigger than the 32 MiB send buffer waits for room and keeps its order', async () => {
  const topic = await createTopic(ctx.kafka, unique('big-send'))
  const producer = ctx.kafka.producer()
  await producer.connect()
  const size = 700 * 1024
  const messages = Array.from({ length: 64 }, (_, i) => ({ key: String(i), value: Buffer.alloc(size, i) }))
  const [metadata] = await producer.send({ topic, messages })
  assert.equal(metadata.baseOffset, '0')
  await producer.disconnect()
  const got = await readAll(topic, 64)
  assert.deepEqual(got.map(m => m.key.toString()), messages.map(m => m.key))
  assert.ok(got.every((m, i) => m.value.length === size && m.value[0] === i && m.value[size - 1] === i))
})

test('every codec round-trips, and sendBatch spans topics', async () => {
  const topics = []
  for (const [name, codec] of Object.entries(CompressionTypes)) {
    const topic = await createTopic(ctx.kafka, unique(`codec-${name.toLowerCase()}`))
    topics.push(topic)
    const producer = ctx.kafka.producer()
    await producer.connect()
    const messages = Array.from({ length: 50 }, (_, i) => ({ key: `k${i}`, value: `value ${i} `.repeat(20) }))
    await producer.send({ topic, compression: codec, messages })
    await producer.disconnect()
    const got = await readAll(topic, 50)
    assert.deepEqual(got.map(m => m.value.toString()), messages.map(m => m.value), `codec ${name}`)
  }
  const producer = ctx.kafka.producer()
  await producer.connect()
  const result = await producer.sendBatch({
    topicMessages: topics.slice(0, 2).map(topic => ({ topic, messages: [{ value: 'batched' }] })),
    compression: CompressionTypes.GZIP,
  })
  assert.deepEqual(result.map(r => r.topicName).sort(), topics.slice(0, 2).sort())
  assert.ok(result.every(r => r.baseOffset === '50'))
  await producer.disconnect()
})

test('acks=0, acks=1 and timeout are honoured per send', async () => {
  const topic = await createTopic(ctx.kafka, unique('acks'))
  const producer = ctx.kafka.producer()
  await producer.connect()
  const none = await producer.send({ topic, acks: 0, messages: [{ value: 'fire and forget' }] })
  assert.equal(none[0].baseOffset, '-1')
  const leader = await producer.send({ topic, acks: 1, messages: [{ value: 'leader' }] })
  assert.equal(leader[0].errorCode, 0)
  // timeout is the produce request's (the client's request.timeout.ms): it reaches the client core.
  const patient = await producer.send({ topic, timeout: 5000, messages: [{ value: 'patient' }] })
  assert.equal(patient[0].baseOffset, '2')
  await assert.rejects(producer.send({ topic, timeout: -1, messages: [{ value: 'x' }] }), /request\.timeout\.ms/)
  await producer.disconnect()
})

test('a send after disconnect, and bad arguments, reject with kafkajs errors', async () => {
  const producer = ctx.kafka.producer()
  await producer.connect()
  await producer.disconnect()
  await assert.rejects(producer.send({ topic: 'x', messages: [{ value: 'late' }] }), KafkaJSNonRetriableError)
  await producer.connect()
  await assert.rejects(producer.send({ topic: 'x', messages: 'nope' }), KafkaJSNonRetriableError)
  await assert.rejects(producer.send({ topic: 'x', messages: [{ value: 42 }] }), TypeError)
  await producer.disconnect()
})

test('producer events: connect and disconnect, with a remover', () => checkConnectEvents(ctx.kafka.producer(), 'producer'))

test('allowAutoTopicCreation: false leaves a missing topic missing, though the broker would create it', async () => {
  const { Kafka } = require('..')
  const kafka = new Kafka({ brokers: ctx.broker.brokers, requestTimeout: 1000, retry: { retries: 2, initialRetryTime: 100 } })
  const topic = unique('not-created')
  const producer = kafka.producer({ allowAutoTopicCreation: false })
  await producer.connect()
  await assert.rejects(producer.send({ topic, messages: [{ value: 'x' }] }), error => {
    // As kafkajs: its retries spent, the protocol error as the cause.
    assert.ok(error instanceof KafkaJSNumberOfRetriesExceeded, error.name)
    assert.ok(error.cause instanceof KafkaJSProtocolError, error.cause && error.cause.name)
    assert.equal(error.cause.type, 'UNKNOWN_TOPIC_OR_PARTITION')
    return true
  })
  await producer.disconnect()
  const admin = ctx.kafka.admin()
  await admin.connect()
  assert.ok(!(await admin.listTopics()).includes(topic))
  await admin.disconnect()
})

test('unknown topic with auto-create off: KafkaJSNumberOfRetriesExceeded (cause KafkaJSProtocolError) within the retry budget', { skip: onKafka && 'needs a broker with auto-create off' }, async t => {
  const { startBroker } = require('../testing')
  const { Kafka } = require('..')
  const broker = await startBroker({ settings: { 'auto.create.topics.enable': 'false' } })
  t.after(() => broker.stop())
  const kafka = new Kafka({ brokers: broker.brokers, requestTimeout: 1000, retry: { retries: 2, initialRetryTime: 100 } })
  const producer = kafka.producer()
  await producer.connect()
  const started = Date.now()
  await assert.rejects(producer.send({ topic: 'missing', messages: [{ value: 'x' }] }), error => {
    // What kafkajs throws here: KafkaJSNumberOfRetriesExceeded, caused by the protocol error.
    assert.ok(error instanceof KafkaJSNumberOfRetriesExceeded, error.name)
    assert.equal(error.retriable, false)
    assert.equal(error.retryCount, 2)
    assert.ok(error.cause instanceof KafkaJSProtocolError, error.cause && error.cause.name)
    assert.equal(error.cause.type, 'UNKNOWN_TOPIC_OR_PARTITION')
    assert.equal(error.cause.code, 3)
    assert.equal(error.cause.retriable, true)
    return true
  })
  assert.ok(Date.now() - started < 10000, 'failed within the retry budget')
  await producer.disconnect()
})

test('broker down: every client fails to connect with kafkajs errors, and a send to a stopped broker fails, all within the retry budget', { skip: onKafka && 'stops its own broker' }, async t => {
  const { startBroker } = require('../testing')
  const { Kafka } = require('..')
  const started = Date.now()
  const nowhere = new Kafka({ brokers: ['127.0.0.1:1'], connectionTimeout: 500, requestTimeout: 1000, retry: { retries: 1, initialRetryTime: 100 } })
  const refused = error => {
    // kafkajs: KafkaJSNumberOfRetriesExceeded caused by KafkaJSConnectionError.
    assert.ok(error instanceof KafkaJSNumberOfRetriesExceeded, error.name)
    assert.ok(error.cause instanceof KafkaJSConnectionError, error.cause && error.cause.name)
    assert.match(error.message, /127\.0\.0\.1:1/)
    return true
  }
  await assert.rejects(nowhere.producer().connect(), refused)
  await assert.rejects(nowhere.admin().connect(), refused)
  await assert.rejects(nowhere.consumer({ groupId: 'g' }).connect(), refused)

  const broker = await startBroker()
  t.after(() => broker.stop())
  const kafka = new Kafka({ brokers: broker.brokers, requestTimeout: 1000, retry: { retries: 2, initialRetryTime: 100 } })
  const producer = kafka.producer()
  await producer.connect()
  await producer.send({ topic: 'before', messages: [{ value: 'delivered' }] })
  await broker.stop()
  await assert.rejects(producer.send({ topic: 'before', messages: [{ value: 'lost' }] }), error => {
    assert.ok(error instanceof KafkaJSNonRetriableError, error.name)
    assert.ok(error.cause instanceof KafkaJSConnectionError, error.cause && error.cause.name)
    return true
  })
  await producer.disconnect()
  assert.ok(Date.now() - started < 20000, 'nothing hung')
})
