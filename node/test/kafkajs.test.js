'use strict'
// Strom's Node client against kafkajs itself (the compatibility tests'
// copy in tests/compat/node): each reads what the other wrote, they pick
// the same partitions for the same keys, and a kafkajs program prints
// the same with either library.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('fs')
const os = require('os')
const path = require('path')
const { execFileSync } = require('child_process')
const { useBroker, until, unique, createTopic } = require('./helpers')

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'
const kafkajsDir = path.join(__dirname, '..', '..', 'tests', 'compat', 'node', 'node_modules', 'kafkajs')
const kafkajs = require(kafkajsDir)

const ctx = useBroker()
const reference = () => new kafkajs.Kafka({ clientId: 'kafkajs', brokers: ctx.broker.brokers, logLevel: kafkajs.logLevel.NOTHING })

async function consumeAll(kafka, topic, count) {
  const consumer = kafka.consumer({ groupId: unique('cross') })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  const got = []
  await consumer.run({
    eachMessage: async ({ partition, message }) =>
      got.push({
        partition,
        offset: message.offset,
        key: message.key && message.key.toString(),
        value: message.value && message.value.toString(),
        headers: Object.fromEntries(Object.entries(message.headers).map(([k, v]) => [k, v.toString()])),
      }),
  })
  await until(() => got.length >= count, { what: `${count} messages` })
  await consumer.disconnect()
  return got.sort((a, b) => a.partition - b.partition || Number(a.offset) - Number(b.offset))
}

const messages = Array.from({ length: 30 }, (_, i) => ({ key: `key-${i}`, value: `value-${i}`, headers: { n: String(i) } }))

test('kafkajs reads what strom writes, and strom reads what kafkajs writes, alike', async () => {
  const fromStrom = await createTopic(ctx.kafka, unique('from-strom'), 3)
  const fromKafkajs = await createTopic(ctx.kafka, unique('from-kafkajs'), 3)
  const strom = ctx.kafka.producer()
  await strom.connect()
  await strom.send({ topic: fromStrom, messages })
  await strom.disconnect()
  const theirs = reference().producer()
  await theirs.connect()
  await theirs.send({ topic: fromKafkajs, messages })
  await theirs.disconnect()

  const readByKafkajs = await consumeAll(reference(), fromStrom, 30)
  const readByStrom = await consumeAll(ctx.kafka, fromKafkajs, 30)
  assert.deepEqual(readByStrom, readByKafkajs, 'same partitions, offsets, keys, values, headers')
  assert.deepEqual(readByKafkajs.map(m => m.value).sort(), messages.map(m => m.value).sort())
})

test('keyed messages go to the partitions kafkajs picks', async () => {
  const topic = await createTopic(ctx.kafka, unique('keys'), 7)
  const strom = ctx.kafka.producer()
  const theirs = reference().producer()
  await Promise.all([strom.connect(), theirs.connect()])
  for (let i = 0; i < 40; i++) {
    const message = { key: `customer-${i * 7919}`, value: 'x' }
    const [ours] = await strom.send({ topic, messages: [message] })
    const [their] = await theirs.send({ topic, messages: [message] })
    assert.equal(ours.partition, their.partition, message.key)
  }
  await Promise.all([strom.disconnect(), theirs.disconnect()])
})

/**
 * Runs examples/node/FILE as is and with require('strom'), each on a topic
 * of its own (made by `topicFor`), and returns both outputs with the topic
 * names replaced by TOPIC.
 */
async function bothWays(file, topicFor = async () => unique('dropin')) {
  const original = path.join(__dirname, '..', '..', 'examples', 'node', file)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strom-dropin-'))
  const source = fs.readFileSync(original, 'utf8')
  assert.ok(source.includes("require('kafkajs')"))
  const run = async (library, name) => {
    const program = path.join(dir, name)
    fs.writeFileSync(program, source.replaceAll("require('kafkajs')", `require(${JSON.stringify(library)})`))
    const topic = await topicFor()
    return execFileSync(process.execPath, [program], {
      env: { ...process.env, BROKERS: ctx.broker.brokers.join(','), TOPIC: topic },
      encoding: 'utf8',
      timeout: 60000,
    }).replaceAll(topic, 'TOPIC')
  }
  try {
    return [await run(kafkajsDir, 'kafkajs.js'), await run(path.join(__dirname, '..'), 'strom.js')]
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

test("the kafkajs README's program prints the same with require('strom')", async () => {
  const [a, b] = await bothWays('kafkajs-readme.js', () => createTopic(ctx.kafka, unique('readme')))
  assert.ok(a.includes('Hello KafkaJS user!'), a)
  assert.equal(b, a)
})

test("a kafkajs program in its documentation's style (admin, sendBatch, eachBatch, group offsets) prints the same", async () => {
  const [a, b] = await bothWays('kafkajs-docs.js')
  assert.match(a, /committed:/)
  assert.equal(b, a)
})
