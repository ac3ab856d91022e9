'use strict'
// Shared by the suite: a broker per test file (the bundled one, or with
// STROM_TEST_KAFKA=1 Apache Kafka from scripts/kafka, to keep the suite
// honest), unique names, and waiting for a condition without fixed sleeps.
const { before, after } = require('node:test')
const { spawn } = require('child_process')
const path = require('path')
const { startBroker } = require('../testing')
const { Kafka, logLevel } = require('..')

const onKafka = process.env.STROM_TEST_KAFKA === '1'

/** Apache Kafka (KRaft, one node) from the repository's scripts/kafka. */
async function startKafka(settings) {
  const script = path.join(__dirname, '..', '..', 'scripts', 'kafka')
  // log.initial.task.delay.ms: Kafka's first retention pass (30 s after
  // start) would delete the records the tests stamp in 2023 mid-suite.
  const defaults = {
    'group.initial.rebalance.delay.ms': '0',
    'group.min.session.timeout.ms': '500',
    'log.initial.task.delay.ms': '3600000',
  }
  const flags = Object.entries({ ...defaults, ...settings })
    .flatMap(([k, v]) => ['--set', `${k}=${v}`])
  const child = spawn(script, flags, { stdio: ['ignore', 'pipe', 'inherit'] })
  const exited = new Promise(resolve => child.once('exit', resolve))
  const address = await new Promise((resolve, reject) => {
    let out = ''
    child.stdout.on('data', chunk => {
      out += chunk
      const ready = /serving Kafka on (\S+) /.exec(out)
      if (ready) resolve(ready[1])
    })
    exited.then(code => reject(new Error(`scripts/kafka exited (${code}) before it was ready`)))
  })
  return {
    brokers: [address],
    async stop() {
      child.kill('SIGTERM')
      await exited
    },
  }
}

let counter = 0
const unique = prefix => `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter++}`

/** Starts one broker for the file; `ctx.kafka` is a client of it. */
function useBroker(settings = {}) {
  const ctx = {}
  before(async () => {
    ctx.broker = onKafka ? await startKafka(settings) : await startBroker({ settings })
    ctx.kafka = new Kafka({ clientId: 'strom-node-tests', brokers: ctx.broker.brokers, logLevel: logLevel.NOTHING })
  })
  after(async () => {
    await ctx.broker.stop()
  })
  return ctx
}

/** Resolves once `check()` is truthy, polling; fails after `timeoutMs`. */
async function until(check, { timeoutMs = 20000, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

async function createTopic(kafka, topic, numPartitions = 1, configEntries = []) {
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic, numPartitions, configEntries }] })
  await admin.disconnect()
  return topic
}

/** A running member of `groupId` on `topic`, once it has its partitions. */
async function joinedConsumer(kafka, topic, groupId) {
  const consumer = kafka.consumer({ groupId })
  await consumer.subscribe({ topic })
  let joined = false
  consumer.on(consumer.events.GROUP_JOIN, e => (joined = Object.keys(e.payload.memberAssignment).length > 0))
  await consumer.run({ eachMessage: async () => {} })
  await until(() => joined, { what: 'the join' })
  return consumer
}

/**
 * A client's CONNECT and DISCONNECT events, kafkajs's way: `on` returns a
 * remover, and an unknown event name throws.
 */
async function checkConnectEvents(client, prefix) {
  const assert = require('node:assert/strict')
  const seen = []
  const remove = client.on(client.events.CONNECT, e => seen.push(e.type))
  client.on(client.events.DISCONNECT, e => seen.push(e.type))
  await client.connect()
  remove()
  await client.connect()
  await client.disconnect()
  assert.deepEqual(seen, [`${prefix}.connect`, `${prefix}.disconnect`])
  assert.throws(() => client.on(`${prefix}.nope`, () => {}), TypeError)
}

module.exports = { useBroker, until, unique, createTopic, joinedConsumer, onKafka, checkConnectEvents }
