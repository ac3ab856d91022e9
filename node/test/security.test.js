'use strict'
// kafkajs's `ssl` and `sasl` options: a producer and a consumer log in to
// a broker's SASL_SSL listener with SCRAM-SHA-512 and with PLAIN, a wrong
// password is refused, and OAUTHBEARER logs in with tokens from
// oauthBearerProvider. Certificates come from the system's openssl; the
// user is made with the package's own `strom user`.
const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const { execFileSync } = require('node:child_process')
const crypto = require('node:crypto')
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
  assert.throws(() => new Kafka({ brokers: ['127.0.0.1:1'], sasl: { mechanism: 'aws' } }).producer(), /not supported/)
  assert.throws(() => new Kafka({ brokers: ['127.0.0.1:1'], sasl: { mechanism: 'oauthbearer' } }).producer(), /oauthBearerProvider/)
  assert.throws(() => new Kafka({ brokers: ['127.0.0.1:1'], ssl: { rejectUnauthorized: false } }).producer(), /rejectUnauthorized/)
})

test('mutual TLS with an encrypted client key (ssl.passphrase)', { skip: onKafka && 'the broker here has no TLS listener' }, async () => {
  const run = args => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' })
  run(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=node-client', '-keyout', 'client.key', '-out', 'client.csr'])
  fs.writeFileSync(path.join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n')
  run(['x509', '-req', '-in', 'client.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'client.ext', '-out', 'client.crt'])
  run(['pkcs8', '-topk8', '-v2', 'aes-256-cbc', '-in', 'client.key', '-out', 'client.enc.key', '-passout', 'pass:client-secret'])
  const tlsBroker = await startBroker({
    settings: {
      listeners: 'PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0',
      'ssl.keystore.location': path.join(dir, 'broker.pem'),
      'ssl.truststore.location': path.join(dir, 'ca.pem'),
      'ssl.client.auth': 'required',
    },
  })
  try {
    const read = name => fs.readFileSync(path.join(dir, name))
    const client = passphrase => new Kafka({
      brokers: [tlsBroker.listeners.SSL],
      ssl: { ca: [read('ca.pem')], cert: read('client.crt'), key: read('client.enc.key'), passphrase },
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
    })
    const producer = client('client-secret').producer()
    await producer.connect()
    await producer.send({ topic: unique('mtls'), messages: [{ value: 'over mutual TLS' }] })
    await producer.disconnect()
    await assert.rejects(client('wrong').producer().connect(), error => /decrypt/.test(error.message))
  } finally {
    await tlsBroker.stop()
  }
})

/** An ES256 key, its JWKS (one key, kid "node") and a signer of JWTs for a subject. */
function tokenIssuer() {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const jwks = { keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'node' }] }
  const b64url = value => Buffer.from(value).toString('base64url')
  const sign = (subject, lifetimeSeconds = 600) => {
    const header = b64url(JSON.stringify({ alg: 'ES256', kid: 'node' }))
    const claims = b64url(JSON.stringify({ sub: subject, exp: Math.floor(Date.now() / 1000) + lifetimeSeconds }))
    const signature = crypto.sign('sha256', Buffer.from(`${header}.${claims}`), { key: privateKey, dsaEncoding: 'ieee-p1363' })
    return `${header}.${claims}.${signature.toString('base64url')}`
  }
  return { jwks, sign }
}

test('oauthBearerProvider: a producer, a consumer and the admin log in with signed tokens', { skip: onKafka && 'the broker here has no OAUTHBEARER listener' }, async () => {
  const issuer = tokenIssuer()
  const jwksFile = path.join(dir, 'jwks.json')
  fs.writeFileSync(jwksFile, JSON.stringify(issuer.jwks))
  const oauthBroker = await startBroker({
    settings: {
      listeners: 'PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0',
      'sasl.enabled.mechanisms': 'OAUTHBEARER',
      'sasl.oauthbearer.jwks.endpoint.url': `file://${jwksFile}`,
    },
  })
  try {
    let asked = 0
    const client = new Kafka({
      brokers: [oauthBroker.listeners.SASL_PLAINTEXT],
      sasl: {
        mechanism: 'oauthbearer',
        oauthBearerProvider: async () => {
          asked += 1
          await new Promise(resolve => setImmediate(resolve))
          return { value: issuer.sign('svc-node') }
        },
      },
      logLevel: logLevel.NOTHING,
      retry: { retries: 1 },
    })
    const topic = unique('oauth')
    const admin = client.admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] })
    await admin.disconnect()
    const producer = client.producer()
    await producer.connect()
    await producer.send({ topic, messages: [{ value: 'signed' }] })
    await producer.disconnect()
    const consumer = client.consumer({ groupId: unique('oauth-group') })
    await consumer.connect()
    await consumer.subscribe({ topic, fromBeginning: true })
    const got = await new Promise((resolve, reject) => {
      consumer.run({ eachMessage: async ({ message }) => resolve(message.value.toString()) }).catch(reject)
    })
    await consumer.disconnect()
    assert.equal(got, 'signed')
    assert.ok(asked >= 3, `the provider was asked at each client's login (${asked} times)`)

    const refusing = (provider) => new Kafka({
      brokers: [oauthBroker.listeners.SASL_PLAINTEXT],
      sasl: { mechanism: 'oauthbearer', oauthBearerProvider: provider },
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
    }).producer()
    const expired = refusing(async () => ({ value: issuer.sign('svc-node', -120) }))
    await assert.rejects(expired.connect(), error => /SASL|authentication/i.test(error.message))
    const failing = refusing(async () => { throw new Error('no token today') })
    await assert.rejects(failing.connect(), error => /no token today/.test(error.message))
  } finally {
    await oauthBroker.stop()
  }
})
