'use strict'
// The package as a user gets it: `npm pack` gives a tarball that installs
// into an empty project (no network, no Rust toolchain: the built addon
// rides along), where `require('strom')`, `strom/testing` and the `strom`
// command work.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { onKafka } = require('./helpers')

const PACKAGE = path.join(__dirname, '..')

// What a project needs from the tarball; `npm pack` leaves out what
// package.json's `files` does not name.
const SHIPPED = ['package.json', 'index.js', 'index.d.ts', 'testing.js', 'testing.d.ts', 'strom.node', 'bin/strom.js', 'lib/native.js', 'lib/packed.js', 'lib/broker-process.js', 'scripts/build.js']

const npm = (args, cwd) => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })

// The program the empty project runs against its installed copy.
const PROGRAM = `
const { Kafka, logLevel } = require('strom')
const { startBroker } = require('strom/testing')
const { execFileSync } = require('child_process')
;(async () => {
  const broker = await startBroker()
  try {
    const kafka = new Kafka({ brokers: broker.brokers, logLevel: logLevel.NOTHING })
    const admin = kafka.admin()
    await admin.createTopics({ topics: [{ topic: 'packed', numPartitions: 1 }] })
    await admin.disconnect()
    const producer = kafka.producer()
    await producer.connect()
    await producer.send({ topic: 'packed', messages: [{ key: 'k', value: 'from the tarball' }] })
    await producer.disconnect()
    const consumer = kafka.consumer({ groupId: 'packed-reader' })
    await consumer.subscribe({ topic: 'packed', fromBeginning: true })
    const value = await new Promise(resolve => consumer.run({ eachMessage: async ({ message }) => resolve(message.value.toString()) }))
    await consumer.disconnect()
    const listed = execFileSync(require.resolve('.bin/strom', { paths: [process.cwd() + '/node_modules'] }), ['topic', 'list', '--brokers', broker.brokers[0]], { encoding: 'utf8' })
    console.log(JSON.stringify({ value, listed }))
  } finally {
    await broker.stop()
  }
})().catch(error => { console.error(error); process.exit(1) })
`

test('npm pack gives a tarball that installs into an empty project and runs there', { skip: onKafka && 'the same with or without Apache Kafka' }, () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'strom-pack-'))
  try {
    const tarball = path.join(work, npm(['pack', '--silent', '--pack-destination', work], PACKAGE).trim().split('\n').pop())
    const listed = execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' }).split('\n')
    for (const file of SHIPPED) assert.ok(listed.includes(`package/${file}`), `the tarball carries ${file}`)
    assert.ok(!listed.some(f => f.startsWith('package/test/')), 'the tests stay out of the tarball')

    const project = path.join(work, 'project')
    fs.mkdirSync(project)
    fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'empty-project', version: '1.0.0', private: true }))
    npm(['install', '--offline', '--no-audit', '--no-fund', tarball], project)
    fs.writeFileSync(path.join(project, 'main.js'), PROGRAM)
    const out = execFileSync(process.execPath, ['main.js'], { cwd: project, encoding: 'utf8', timeout: 60000 })
    const { value, listed: topics } = JSON.parse(out.trim().split('\n').pop())
    assert.equal(value, 'from the tarball')
    assert.match(topics, /packed/)
  } finally {
    fs.rmSync(work, { recursive: true, force: true })
  }
})
