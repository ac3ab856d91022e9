// The kafkajs side of the compatibility tests (tests/compat/clients.py).
// Reads one JSON request on stdin, writes one JSON reply on stdout; binary
// keys, values and header values travel as base64.
//
//   {"op": "produce", "bootstrap", "topic", "compression",
//    "records": [{"key", "value", "headers": [[name, value], ...]}]}
//     -> {"partitions": [{"partition", "baseOffset"}, ...]}
//   {"op": "consume_group", "bootstrap", "topic", "count", "groupId"}
//     -> {"records": [{"partition", "offset", "key", "value", "headers"}]}
'use strict'

const { Kafka, CompressionTypes, logLevel } = require('kafkajs')
const { registerCodecs } = require('./codecs')

const COMPRESSIONS = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
  zstd: CompressionTypes.ZSTD
}
const CONSUME_TIMEOUT_MS = 60000
// Sends go out in a few batches, each awaited, so send order is kept.
const BATCH_SIZE = 50

const fromB64 = text => Buffer.from(text, 'base64')
const toB64 = buf => (buf == null ? '' : Buffer.from(buf).toString('base64'))

function client (bootstrap) {
  return new Kafka({ clientId: 'strom-compat', brokers: [bootstrap], logLevel: logLevel.ERROR })
}

// kafkajs takes headers as an object; a repeated name becomes an array,
// which kafkajs writes as one header per element, in order.
function headersObject (pairs) {
  const headers = {}
  for (const [name, value] of pairs) {
    const bytes = fromB64(value)
    if (!(name in headers)) headers[name] = bytes
    else if (Array.isArray(headers[name])) headers[name].push(bytes)
    else headers[name] = [headers[name], bytes]
  }
  return headers
}

async function produce (req) {
  const producer = client(req.bootstrap).producer({ allowAutoTopicCreation: false })
  await producer.connect()
  const partitions = []
  try {
    for (let start = 0; start < req.records.length; start += BATCH_SIZE) {
      const messages = req.records.slice(start, start + BATCH_SIZE).map(r => ({
        key: fromB64(r.key),
        value: fromB64(r.value),
        headers: headersObject(r.headers)
      }))
      const metadata = await producer.send({
        topic: req.topic,
        compression: COMPRESSIONS[req.compression],
        acks: -1,
        messages
      })
      for (const m of metadata) partitions.push({ partition: m.partition, baseOffset: m.baseOffset })
    }
  } finally {
    await producer.disconnect()
  }
  return { partitions }
}

function headerPairs (headers) {
  const pairs = []
  for (const [name, value] of Object.entries(headers || {})) {
    for (const v of Array.isArray(value) ? value : [value]) pairs.push([name, toB64(v)])
  }
  return pairs
}

async function consumeGroup (req) {
  const consumer = client(req.bootstrap).consumer({ groupId: req.groupId })
  await consumer.connect()
  const records = []
  try {
    await consumer.subscribe({ topic: req.topic, fromBeginning: true })
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${records.length} of ${req.count} records in time`)), CONSUME_TIMEOUT_MS)
      consumer.run({
        eachMessage: async ({ partition, message }) => {
          records.push({
            partition,
            offset: message.offset,
            key: toB64(message.key),
            value: toB64(message.value),
            headers: headerPairs(message.headers)
          })
          if (records.length >= req.count) {
            clearTimeout(timer)
            resolve()
          }
        }
      }).catch(reject)
    })
  } finally {
    await consumer.disconnect()
  }
  return { records }
}

async function main () {
  registerCodecs()
  const chunks = []
  for await (const chunk of process.stdin) chunks.push(chunk)
  const req = JSON.parse(Buffer.concat(chunks).toString('utf8'))
  const ops = { produce, consume_group: consumeGroup }
  if (!ops[req.op]) throw new Error(`unknown op ${req.op}`)
  const reply = await ops[req.op](req)
  process.stdout.write(JSON.stringify(reply) + '\n')
}

main().catch(err => {
  console.error(err && err.stack ? err.stack : err)
  process.exit(1)
})
