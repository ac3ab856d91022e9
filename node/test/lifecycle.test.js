'use strict'
// Clients and the process: an idle or disconnected client never keeps
// Node running, and nothing a client started settles after its
// disconnect() resolved.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const { execFileSync } = require('node:child_process')
const path = require('node:path')
const { useBroker, unique, createTopic } = require('./helpers')

const ctx = useBroker()
const PACKAGE = path.join(__dirname, '..')

test('a script whose clients are idle or disconnected ends by itself', async () => {
  const topic = await createTopic(ctx.kafka, unique('lifecycle'))
  // Left connected: a producer and an admin, idle. Disconnected: a
  // producer that sent and a consumer that ran.
  const script = `
    const { Kafka, logLevel } = require(${JSON.stringify(PACKAGE)})
    const kafka = new Kafka({ brokers: ${JSON.stringify(ctx.broker.brokers)}, logLevel: logLevel.NOTHING })
    ;(async () => {
      const idleProducer = kafka.producer()
      await idleProducer.connect()
      const idleAdmin = kafka.admin()
      await idleAdmin.connect()
      const producer = kafka.producer()
      await producer.connect()
      await producer.send({ topic: ${JSON.stringify(topic)}, messages: [{ value: 'x' }] })
      await producer.disconnect()
      const consumer = kafka.consumer({ groupId: ${JSON.stringify(unique('group'))} })
      await consumer.subscribe({ topic: ${JSON.stringify(topic)}, fromBeginning: true })
      await new Promise(resolve => consumer.run({ eachMessage: async () => resolve() }))
      await consumer.disconnect()
      console.log('done')
    })()`
  const started = Date.now()
  // A client that kept Node alive would run into the timeout (an error).
  const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30000 })
  assert.equal(out.trim(), 'done')
  assert.ok(Date.now() - started < 30000)
})

test('a send, an admin call and a run loop in flight settle before disconnect() resolves', async () => {
  const topic = await createTopic(ctx.kafka, unique('settled'))
  const producer = ctx.kafka.producer()
  await producer.connect()
  let sent = 'pending'
  producer.send({ topic, messages: Array.from({ length: 1000 }, (_, i) => ({ value: `v${i}` })) }).then(
    () => (sent = 'resolved'),
    () => (sent = 'rejected')
  )
  await producer.disconnect()
  assert.notEqual(sent, 'pending', 'the send settled before disconnect() resolved')

  const admin = ctx.kafka.admin()
  await admin.connect()
  let listed = 'pending'
  admin.fetchTopicOffsets(topic).then(
    () => (listed = 'resolved'),
    () => (listed = 'rejected')
  )
  await admin.disconnect()
  assert.equal(listed, 'resolved', 'the admin call settled before disconnect() resolved')

  const consumer = ctx.kafka.consumer({ groupId: unique('group') })
  await consumer.subscribe({ topic, fromBeginning: true })
  const handled = []
  await consumer.run({ eachMessage: async ({ message }) => handled.push(message.offset) })
  await consumer.disconnect()
  const after = handled.length
  await new Promise(resolve => setTimeout(resolve, 300))
  assert.equal(handled.length, after, 'no handler ran after disconnect() resolved')
})
