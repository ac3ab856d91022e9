#!/usr/bin/env node
'use strict'
// One Node Kafka client running one load, as its own process
// (bench/node/run starts one per run):
//
//   load.js CLIENT produce BOOTSTRAP TOPIC RECORDS SIZE
//   load.js CLIENT consume-batch BOOTSTRAP TOPIC RECORDS GROUP
//   load.js CLIENT consume-message BOOTSTRAP TOPIC RECORDS GROUP
//
// CLIENT is strom (this work tree's node/ package), kafkajs, or confluent
// (@confluentinc/kafka-javascript through its kafkajs-compatible API).
// Every client runs the same kafkajs code (acks -1, the default of all
// three); only how a client is made
// differs (confluent's takes its kafkajs settings under `kafkaJS`, and
// `fromBeginning` on the consumer instead of in subscribe()).
//
// Prints one JSON object on stdout: records, records_per_s, mib_per_s,
// errors, the client's version, and this process's peak RSS and CPU time.
// Produce: from the first send() to the moment every record is
// acknowledged. Consume: a new group from the earliest offset; the rate
// runs from the first record to the last one counted, and the group join
// (subscribe to first record) is reported apart.
const path = require('path')

const MIB = 1024 * 1024
const IDLE_TIMEOUT_MS = 30000
// Messages per send(), and send() calls awaited together: kafkajs's
// documentation sends arrays of messages and awaits each send; a window of
// sends in flight lets every client batch as it likes.
const MESSAGES_PER_SEND = 1000
const SENDS_IN_FLIGHT = 10

const REPO = path.resolve(__dirname, '..', '..')

function clientModule(client) {
  if (client === 'strom') return require(path.join(REPO, 'node'))
  if (client === 'kafkajs') return require('kafkajs')
  return require('@confluentinc/kafka-javascript').KafkaJS
}

function version(client) {
  if (client === 'strom') return { strom: require(path.join(REPO, 'node', 'package.json')).version }
  if (client === 'kafkajs') return { kafkajs: require('kafkajs/package.json').version }
  const confluent = require('@confluentinc/kafka-javascript')
  return {
    'confluent-kafka-javascript': require('@confluentinc/kafka-javascript/package.json').version,
    librdkafka: confluent.librdkafkaVersion,
  }
}

function makeKafka(client, bootstrap) {
  const { Kafka, logLevel } = clientModule(client)
  const settings = { clientId: `bench-${client}`, brokers: [bootstrap], logLevel: logLevel.ERROR }
  return client === 'confluent' ? new Kafka({ kafkaJS: settings }) : new Kafka(settings)
}

function makeProducer(client, kafka) {
  return client === 'confluent' ? kafka.producer({ kafkaJS: { acks: -1 } }) : kafka.producer()
}

function makeConsumer(client, kafka, groupId) {
  return client === 'confluent'
    ? kafka.consumer({ kafkaJS: { groupId, fromBeginning: true } })
    : kafka.consumer({ groupId })
}

function payload(size) {
  return Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZ'.repeat(Math.ceil(size / 26)).slice(0, size))
}

async function produce(client, bootstrap, topic, records, size) {
  const kafka = makeKafka(client, bootstrap)
  const producer = makeProducer(client, kafka)
  await producer.connect()
  const value = payload(size)
  const errors = []
  let acknowledged = 0
  const started = performance.now()
  let left = records
  while (left > 0) {
    const window = []
    for (let i = 0; i < SENDS_IN_FLIGHT && left > 0; i++) {
      const count = Math.min(MESSAGES_PER_SEND, left)
      left -= count
      const messages = new Array(count)
      for (let m = 0; m < count; m++) messages[m] = { value }
      window.push(
        producer.send({ topic, messages }).then(
          () => {
            acknowledged += count
          },
          error => errors.push(String(error))
        )
      )
    }
    await Promise.all(window)
  }
  const elapsed = (performance.now() - started) / 1000
  await producer.disconnect()
  return {
    records: acknowledged,
    elapsed_s: elapsed,
    received_bytes: acknowledged * size,
    errors: errors.length,
    first_errors: errors.slice(0, 5),
  }
}

async function consume(client, mode, bootstrap, topic, records, groupId) {
  const kafka = makeKafka(client, bootstrap)
  const consumer = makeConsumer(client, kafka, groupId)
  await consumer.connect()
  let received = 0
  let receivedBytes = 0
  let first = 0
  let last = 0
  let finish
  const finished = new Promise(resolve => {
    finish = resolve
  })
  const count = (n, nbytes) => {
    const now = performance.now()
    if (!first) first = now
    last = now
    received += n
    receivedBytes += nbytes
    if (received >= records) finish()
  }
  const subscribed = performance.now()
  last = subscribed
  if (client === 'confluent') await consumer.subscribe({ topics: [topic] })
  else await consumer.subscribe({ topics: [topic], fromBeginning: true })
  const handlers =
    mode === 'consume-batch'
      ? {
          eachBatch: async ({ batch }) => {
            let nbytes = 0
            for (const message of batch.messages) nbytes += message.value.length
            count(batch.messages.length, nbytes)
          },
        }
      : {
          eachMessage: async ({ message }) => {
            count(1, message.value.length)
          },
        }
  await consumer.run(handlers)
  const idle = setInterval(() => {
    if (performance.now() - last > IDLE_TIMEOUT_MS) finish()
  }, 1000)
  await finished
  clearInterval(idle)
  await consumer.disconnect()
  return {
    records: received,
    elapsed_s: first ? (last - first) / 1000 : 0,
    received_bytes: receivedBytes,
    group_join_ms: first ? first - subscribed : null,
    errors: 0,
  }
}

const CLIENTS = ['strom', 'kafkajs', 'confluent']
const MODES = ['produce', 'consume-batch', 'consume-message']

async function main(argv) {
  if (argv.length !== 6 || !CLIENTS.includes(argv[0]) || !MODES.includes(argv[1])) {
    console.error('usage: load.js strom|kafkajs|confluent produce|consume-batch|consume-message BOOTSTRAP TOPIC RECORDS SIZE|GROUP')
    return 2
  }
  const [client, mode, bootstrap, topic, recordsText, last] = argv
  const records = Number(recordsText)
  const result =
    mode === 'produce'
      ? await produce(client, bootstrap, topic, records, Number(last))
      : await consume(client, mode, bootstrap, topic, records, last)
  const elapsed = result.elapsed_s
  result.records_per_s = elapsed > 0 ? result.records / elapsed : 0
  result.mib_per_s = elapsed > 0 ? result.received_bytes / MIB / elapsed : 0
  delete result.received_bytes
  const usage = process.resourceUsage()
  result.client = { node: process.version, ...version(client) }
  result.peak_rss_mib = Math.round(usage.maxRSS / 102.4) / 10
  result.cpu_s = Math.round((usage.userCPUTime + usage.systemCPUTime) / 1e4) / 100
  console.log(JSON.stringify(result))
  return 0
}

main(process.argv.slice(2)).then(
  code => process.exit(code),
  error => {
    console.error(error)
    process.exit(1)
  }
)
