// kafkajs over a secured listener (tests/security/secure_clients.py).
// Reads {bootstrap, topic, values, protocol, mechanism, username, password,
// ca, cert, key} on stdin, produces the values to partition 0, reads them
// back through a fresh consumer group and prints {"values": [...]}.
// Exits 2 when the connection, TLS or the login fails.
'use strict'

const fs = require('fs')
const { Kafka, logLevel } = require('kafkajs')

const TIMEOUT_MS = 30000

function config (req) {
  const conf = { clientId: 'strom-security', brokers: [req.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 2 } }
  if (req.protocol.endsWith('SSL')) {
    conf.ssl = { ca: [fs.readFileSync(req.ca)] }
    if (req.cert) {
      conf.ssl.cert = fs.readFileSync(req.cert)
      conf.ssl.key = fs.readFileSync(req.key)
    }
  }
  if (req.mechanism) {
    conf.sasl = { mechanism: req.mechanism.toLowerCase(), username: req.username, password: req.password }
  }
  return conf
}

async function main (req) {
  const kafka = new Kafka(config(req))
  const producer = kafka.producer()
  await producer.connect()
  await producer.send({ topic: req.topic, messages: req.values.map(value => ({ value, partition: 0 })) })
  await producer.disconnect()
  const consumer = kafka.consumer({ groupId: `roundtrip-${Date.now()}-${process.pid}` })
  await consumer.connect()
  await consumer.subscribe({ topic: req.topic, fromBeginning: true })
  const got = []
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`read ${got.length} of ${req.values.length}`)), TIMEOUT_MS)
    consumer.run({
      eachMessage: async ({ partition, message }) => {
        if (partition !== 0) return
        got.push(message.value.toString())
        if (got.length === req.values.length) {
          clearTimeout(timer)
          resolve()
        }
      }
    }).catch(reject)
  })
  await consumer.disconnect()
  return got
}

const chunks = []
process.stdin.on('data', c => chunks.push(c))
process.stdin.on('end', () => {
  const req = JSON.parse(Buffer.concat(chunks).toString('utf8'))
  main(req).then(
    values => { process.stdout.write(JSON.stringify({ values })); process.exit(0) },
    err => {
      process.stderr.write(`${err.name}: ${err.message}\n`)
      const login = /SASL|Authentication|Connection|SSL|TLS|certificate|ECONNRESET|socket/i.test(`${err.name} ${err.message}`)
      process.exit(login ? 2 : 1)
    }
  )
})
