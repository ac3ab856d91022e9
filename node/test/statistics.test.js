'use strict'
// Strom's client statistics in Node: with `statisticsInterval`, producers
// and consumers emit librdkafka's statistics object as an event.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const { useBroker, until, unique, createTopic } = require('./helpers')

const ctx = useBroker()
const COUNT = 30

test('producer.stats counts the records sent and acknowledged', async () => {
  const topic = await createTopic(ctx.kafka, unique('stats'))
  const producer = ctx.kafka.producer({ statisticsInterval: 100 })
  const seen = []
  producer.on(producer.events.STATS, e => seen.push(e.payload))
  await producer.connect()
  await producer.send({ topic, messages: Array.from({ length: COUNT }, (_, i) => ({ value: `v${i}` })) })
  await until(() => seen.some(s => s.txmsgs >= COUNT), { what: `statistics with txmsgs ${COUNT}` })
  await producer.disconnect()
  const last = seen.at(-1)
  assert.equal(last.type, 'producer')
  assert.equal(last.topics[topic].partitions['0'].txmsgs, COUNT)
  assert.ok(Object.keys(last.brokers).length >= 1)
})

test('consumer.stats counts the records read, and the lag reaches 0 once committed', async () => {
  const topic = await createTopic(ctx.kafka, unique('stats'))
  const producer = ctx.kafka.producer()
  await producer.connect()
  await producer.send({ topic, messages: Array.from({ length: COUNT }, (_, i) => ({ value: `v${i}` })) })
  await producer.disconnect()
  const consumer = ctx.kafka.consumer({ groupId: unique('group'), statisticsInterval: 100 })
  const seen = []
  consumer.on(consumer.events.STATS, e => seen.push(e.payload))
  await consumer.subscribe({ topic, fromBeginning: true })
  let got = 0
  await consumer.run({ eachMessage: async () => { got += 1 } })
  await until(() => got === COUNT, { what: `${COUNT} messages` })
  const caughtUp = s => s.rxmsgs >= COUNT && s.topics[topic]?.partitions['0']?.consumer_lag === 0
  await until(() => seen.some(caughtUp), { what: 'statistics with every record read and no lag' })
  await consumer.disconnect()
  assert.equal(seen.find(caughtUp).type, 'consumer')
})

test('statisticsInterval must be a whole number of milliseconds', () => {
  assert.throws(() => ctx.kafka.producer({ statisticsInterval: 'often' }), /statisticsInterval/)
})
