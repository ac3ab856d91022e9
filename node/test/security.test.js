'use strict'
// kafkajs's `ssl` and `sasl` options: a producer and a consumer log in to
// a broker's SASL_SSL listener with SCRAM-SHA-512 and with PLAIN, and a
// wrong password is refused. Certificates come from the system's openssl;
// the user is made with the package's own `strom user`.
const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { Kafka, logLevel } = require('..')
const { startBroker } = require('../testing')
const { unique, onKafka } = require('./helpers')

const STROM_CLI = path.join(__dirname, '..', 'bin', 'strom.js')
let dir
let broker

function makeCertificates() {
  const run = args => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' })
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes']
  run(['req', '-x509', ...ec, '-days', '2', '-subj', '/CN=Node test CA', '-keyout', 'ca.key', '-out', 'ca.pem'])
  run(['req', ...ec, '-subj', '/CN=localhost', '-keyout', 'broker.key', '-out', 'broker.csr'])
  fs.writeFileSync(path.join(dir, 'broker.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n')
  run(['x509', '-req', '-in', 'broker.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'broker.ext', '-out', 'broker.crt'])
  const keystore = path.join(dir, 'broker.pem')
  fs.writeFileSync(keystore, fs.readFileSync(path.join(dir, 'broker.key')) + fs.readFileSync(path.join(dir, 'broker.crt')), { mode: 0o600 })
  return keystore
}

before(async () => {
  if (onKafka) return
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strom-node-tls-'))
  broker = await startBroker({
    settings: {
      listeners: 'PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0',
      'ssl.keystore.location': makeCertificates(),
      'sasl.enabled.mechanisms': 'SCRAM-SHA-512,PLAIN',
    },
  })
  execFileSync(process.execPath, [STROM_CLI, 'user', 'create', 'alice', '--password', 'alice-secret', '--brokers', broker.listeners.PLAINTEXT])
})

after(async () => {
  if (broker) await broker.stop()
  if (dir) fs.rmSync(dir, { recursive: true, force: true })
})

function kafka(sasl) {
  return new Kafka({
    brokers: [broker.listeners.SASL_SSL],
    ssl: { ca: [fs.readFileSync(path.join(dir, 'ca.pem'))] },
    sasl,
    logLevel: logLevel.NOTHING,
    retry: { retries: 1 },
  })
}

for (const mechanism of ['scram-sha-512', 'plain']) {
  test(`a producer and a consumer log in over SASL_SSL with ${mechanism}`, { skip: onKafka && 'the broker here has no SASL listener' }, async () => {
    const client = kafka({ mechanism, username: 'alice', password: 'alice-secret' })
    const topic = unique('secure')
    const producer = client.producer()
    await producer.connect()
    await producer.send({ topic, messages: [{ value: 'one' }, { value: 'two' }] })
    await producer.disconnect()
    const consumer = client.consumer({ groupId: unique('secure-group') })
    await consumer.connect()
    await consumer.subscribe({ topic, fromBeginning: true })
    const got = []
    await new Promise((resolve, reject) => {
      consumer.run({
        eachMessage: async ({ message }) => {
          got.push(message.value.toString())
          if (got.length === 2) resolve()
        },
      }).catch(reject)
    })
    await consumer.disconnect()
    assert.deepEqual(got, ['one', 'two'])
  })
}

test('a wrong password is refused', { skip: onKafka && 'the broker here has no SASL listener' }, async () => {
  const producer = kafka({ mechanism: 'scram-sha-512', username: 'alice', password: 'wrong' }).producer()
  await assert.rejects(producer.connect(), error => /SASL login|Invalid username or password/.test(error.message))
})

test('options the client cannot honour are refused, not ignored', () => {
  assert.throws(() => new Kafka({ brokers: ['127.0.0.1:1'], sasl: { mechanism: 'oauthbearer' } }).producer(), /not supported/)
  assert.throws(() => new Kafka({ brokers: ['127.0.0.1:1'], ssl: { rejectUnauthorized: false } }).producer(), /rejectUnauthorized/)
})
