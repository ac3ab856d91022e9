'use strict'
const { test } = require('node:test')
const assert = require('node:assert/strict')
const { Kafka, logLevel, PartitionAssigners, KafkaJSNonRetriableError } = require('..')
const { useBroker, until, unique, createTopic, joinedConsumer } = require('./helpers')

const ctx = useBroker()

async function produce(topic, messages) {
  const producer = ctx.kafka.producer()
  await producer.connect()
  await producer.send({ topic, messages })
  await producer.disconnect()
}

async function committed(groupId, topic) {
  const admin = ctx.kafka.admin()
  await admin.connect()
  const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] })
  await admin.disconnect()
  return offsets.partitions.map(p => p.offset)
}

test('eachMessage reads from the beginning, commits, and a new member resumes after the commit', async () => {
  const topic = await createTopic(ctx.kafka, unique('each'))
  const groupId = unique('group')
  await produce(topic, Array.from({ length: 10 }, (_, i) => ({ value: `m${i}` })))
  const consumer = ctx.kafka.consumer({ groupId })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  const got = []
  const events = []
  consumer.on(consumer.events.GROUP_JOIN, e => events.push(e))
  consumer.on(consumer.events.COMMIT_OFFSETS, e => events.push(e))
  await consumer.run({ eachMessage: async ({ message }) => got.push(message.value.toString()) })
  await until(() => got.length === 10, { what: 'ten messages' })
  await until(async () => (await committed(groupId, topic))[0] === '10', { what: 'commit of offset 10' })
  await consumer.disconnect()
  assert.deepEqual(got, Array.from({ length: 10 }, (_, i) => `m${i}`))
  const join = events.find(e => e.type === consumer.events.GROUP_JOIN && Object.keys(e.payload.memberAssignment).length > 0)
  assert.ok(join, 'a GROUP_JOIN event with the assignment')
  assert.deepEqual(join.payload.memberAssignment, { [topic]: [0] })
  assert.ok(events.some(e => e.type === consumer.events.COMMIT_OFFSETS && e.payload.topics[0].topic === topic))

  await produce(topic, [{ value: 'after' }])
  const next = ctx.kafka.consumer({ groupId })
  const later = []
  await next.subscribe({ topic, fromBeginning: true })
  await next.run({ eachMessage: async ({ message }) => later.push(message.value.toString()) })
  await until(() => later.length === 1, { what: 'the message after the commit' })
  await next.disconnect()
  assert.deepEqual(later, ['after'])
})

test('a handler that throws gets the same message again (CRASH event), then goes on', async () => {
  const topic = await createTopic(ctx.kafka, unique('retry'))
  await produce(topic, [{ value: 'a' }, { value: 'b' }, { value: 'c' }])
  const consumer = ctx.kafka.consumer({ groupId: unique('group') })
  await consumer.subscribe({ topic, fromBeginning: true })
  const seen = []
  const crashes = []
  consumer.on(consumer.events.CRASH, e => crashes.push(e.payload.error.message))
  let failOnce = true
  await consumer.run({
    eachMessage: async ({ message }) => {
      const value = message.value.toString()
      seen.push(value)
      if (value === 'b' && failOnce) {
        failOnce = false
        throw new Error('boom')
      }
    },
  })
  await until(() => seen.includes('c'), { what: 'c after the retry' })
  await consumer.disconnect()
  assert.deepEqual(seen, ['a', 'b', 'b', 'c'])
  assert.deepEqual(crashes, ['boom'])
})

test('eachBatch gives kafkajs batches; two members of one group share the partitions', async () => {
  const topic = await createTopic(ctx.kafka, unique('batch'), 4)
  const groupId = unique('group')
  const received = new Map()
  const member = name => {
    const consumer = ctx.kafka.consumer({ groupId, sessionTimeout: 6000, heartbeatInterval: 500 })
    const partitions = new Set()
    consumer.on(consumer.events.GROUP_JOIN, e => {
      partitions.clear()
      for (const p of e.payload.memberAssignment[topic] || []) partitions.add(p)
    })
    return { name, consumer, partitions }
  }
  const one = member('one')
  const two = member('two')
  for (const { name, consumer } of [one, two]) {
    await consumer.subscribe({ topic, fromBeginning: true })
    await consumer.run({
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning }) => {
        assert.equal(batch.topic, topic)
        assert.equal(typeof batch.highWatermark, 'string')
        assert.equal(batch.firstOffset(), batch.messages[0].offset)
        assert.equal(batch.lastOffset(), batch.messages[batch.messages.length - 1].offset)
        for (const message of batch.messages) {
          if (!isRunning()) break
          received.set(message.value.toString(), name)
          resolveOffset(message.offset)
        }
        await heartbeat()
      },
    })
  }
  await until(() => one.partitions.size + two.partitions.size === 4 && one.partitions.size > 0 && two.partitions.size > 0, {
    what: 'both members assigned',
  })
  const messages = Array.from({ length: 40 }, (_, i) => ({ value: `v${i}`, partition: i % 4 }))
  await produce(topic, messages)
  await until(() => received.size === 40, { what: 'all 40 messages' })
  for (let i = 0; i < 40; i++) {
    const owner = received.get(`v${i}`) === 'one' ? one : two
    assert.ok(owner.partitions.has(i % 4), `v${i} read by the owner of partition ${i % 4}`)
  }
  await Promise.all([one.consumer.disconnect(), two.consumer.disconnect()])
})

test('a member that gives partitions up to a new member reports REBALANCING, then its new GROUP_JOIN', async () => {
  const topic = await createTopic(ctx.kafka, unique('rebalancing'), 2)
  const groupId = unique('group')
  const one = await joinedConsumer(ctx.kafka, topic, groupId)
  const events = []
  one.on(one.events.REBALANCING, e => events.push(e))
  one.on(one.events.GROUP_JOIN, e => events.push(e))
  const two = await joinedConsumer(ctx.kafka, topic, groupId)
  await until(() => events.some(e => e.type === one.events.GROUP_JOIN), { what: "the first member's new assignment" })
  const rebalancing = events.findIndex(e => e.type === one.events.REBALANCING)
  const join = events.findIndex(e => e.type === one.events.GROUP_JOIN)
  assert.ok(rebalancing >= 0 && rebalancing < join, events.map(e => e.type).join(', '))
  assert.equal(events[rebalancing].payload.groupId, groupId)
  const joined = events[join].payload
  assert.deepEqual(joined.memberAssignment[topic].length, 1)
  // The leader is one of the two members; isLeader says whether it is this one.
  const members = (await one.describeGroup()).members.map(m => m.memberId)
  assert.ok(members.includes(joined.leaderId), `${joined.leaderId} in ${members}`)
  assert.equal(joined.isLeader, joined.leaderId === joined.memberId)
  await Promise.all([one.disconnect(), two.disconnect()])
})

test("batch.highWatermark is the partition's end as fetched, so offsetLag counts what is left", async () => {
  const topic = await createTopic(ctx.kafka, unique('watermark'))
  const count = 6000
  await produce(topic, Array.from({ length: count }, (_, i) => ({ value: `w${i}` })))
  const consumer = ctx.kafka.consumer({ groupId: unique('group') })
  await consumer.subscribe({ topic, fromBeginning: true })
  const batches = []
  let read = 0
  await consumer.run({
    eachBatch: async ({ batch }) => {
      batches.push({ highWatermark: batch.highWatermark, lastOffset: batch.lastOffset(), offsetLag: batch.offsetLag() })
      read += batch.messages.length
    },
  })
  await until(() => read >= count, { what: `${count} messages` })
  await consumer.disconnect()
  // A poll hands out at most 5,000 messages: the first batch stops short of the end.
  const [first] = batches
  assert.equal(first.highWatermark, String(count))
  assert.ok(Number(first.lastOffset) < count - 1, JSON.stringify(first))
  assert.equal(first.offsetLag, String(count - 1 - Number(first.lastOffset)))
  assert.equal(batches[batches.length - 1].offsetLag, '0')
})

test('fromBeginning is per subscribe call: one topic from its start, the other from its end', async () => {
  const early = await createTopic(ctx.kafka, unique('from-start'))
  const late = await createTopic(ctx.kafka, unique('from-end'))
  await produce(early, [{ value: 'early-old' }])
  await produce(late, [{ value: 'late-old' }])
  const consumer = ctx.kafka.consumer({ groupId: unique('group') })
  await consumer.subscribe({ topic: early, fromBeginning: true })
  await consumer.subscribe({ topics: [late] })
  const got = []
  let joined = false
  consumer.on(consumer.events.GROUP_JOIN, e => (joined = Object.keys(e.payload.memberAssignment).length === 2))
  await consumer.run({ eachMessage: async ({ message }) => got.push(message.value.toString()) })
  await until(() => joined && got.includes('early-old'), { what: 'the join and the old message of the first topic' })
  // The second topic starts at its end once its position is known: poll until then.
  await until(async () => {
    await produce(late, [{ value: 'late-new' }])
    return got.includes('late-new')
  }, { what: 'a new message of the second topic' })
  await consumer.disconnect()
  assert.ok(!got.includes('late-old'), got.join(', '))
})

test("logCreator gets kafkajs's entries: the join at INFO, a handler failure at ERROR, under Consumer", async () => {
  const topic = await createTopic(ctx.kafka, unique('logged'))
  await produce(topic, [{ value: 'boom' }])
  const entries = []
  const kafka = new Kafka({ brokers: ctx.broker.brokers, logLevel: logLevel.INFO, logCreator: () => entry => entries.push(entry) })
  const consumer = kafka.consumer({ groupId: unique('group') })
  await consumer.subscribe({ topic, fromBeginning: true })
  let failed = false
  await consumer.run({
    eachMessage: async () => {
      if (!failed) {
        failed = true
        throw new Error('handler says no')
      }
    },
  })
  await until(() => entries.some(e => e.level === logLevel.ERROR), { what: 'the error entry' })
  await consumer.disconnect()
  const join = entries.find(e => e.log.message === 'Consumer has joined the group')
  assert.ok(join, JSON.stringify(entries))
  assert.equal(join.namespace, 'Consumer')
  assert.equal(join.label, 'INFO')
  assert.deepEqual(join.log.memberAssignment, { [topic]: [0] })
  assert.ok(!Number.isNaN(Date.parse(join.log.timestamp)))
  const error = entries.find(e => e.level === logLevel.ERROR)
  assert.equal(error.log.message, 'Error when calling eachMessage')
  assert.equal(error.log.error, 'handler says no')
  // setLogLevel applies to every namespace's logger.
  const logger = kafka.logger()
  const before = entries.length
  logger.setLogLevel(logLevel.ERROR)
  logger.namespace('Test').info('not shown')
  logger.namespace('Test').error('shown')
  assert.deepEqual(entries.slice(before).map(e => [e.namespace, e.log.message]), [['Test', 'shown']])
})

test('subscribing creates a missing topic, as kafkajs does by default; allowAutoTopicCreation: false does not', async () => {
  const listed = async () => {
    const admin = ctx.kafka.admin()
    await admin.connect()
    const topics = await admin.listTopics()
    await admin.disconnect()
    return topics
  }
  const kept = unique('not-wished')
  const refusing = ctx.kafka.consumer({ groupId: unique('group'), allowAutoTopicCreation: false })
  await refusing.subscribe({ topic: kept })
  await refusing.run({ eachMessage: async () => {} })
  const wished = unique('wished')
  const consumer = await joinedConsumer(ctx.kafka, wished, unique('group'))
  assert.ok((await listed()).includes(wished))
  assert.ok(!(await listed()).includes(kept))
  await Promise.all([consumer.disconnect(), refusing.disconnect()])
})

test('partitionAssigners: roundRobin (the default) is taken, a custom assigner refused rather than replaced', () => {
  const consumer = ctx.kafka.consumer({ groupId: unique('group'), partitionAssigners: [PartitionAssigners.roundRobin] })
  assert.equal(typeof consumer.run, 'function')
  const custom = () => ({ name: 'Mine', version: 1, assign: async () => [], protocol: () => ({}) })
  assert.throws(() => ctx.kafka.consumer({ groupId: unique('group'), partitionAssigners: [custom] }), KafkaJSNonRetriableError)
})

test('pause and resume a partition; seek rewinds', async () => {
  const topic = await createTopic(ctx.kafka, unique('pause'), 2)
  await produce(topic, [{ value: 'p0-a', partition: 0 }, { value: 'p1-a', partition: 1 }])
  const consumer = ctx.kafka.consumer({ groupId: unique('group') })
  await consumer.subscribe({ topic, fromBeginning: true })
  const got = []
  await consumer.run({ eachMessage: async ({ message }) => got.push(message.value.toString()) })
  await until(() => got.length === 2, { what: 'first two' })
  consumer.pause([{ topic, partitions: [0] }])
  assert.deepEqual(consumer.paused(), [{ topic, partitions: [0] }])
  await produce(topic, [{ value: 'p0-b', partition: 0 }, { value: 'p1-b', partition: 1 }])
  await until(() => got.includes('p1-b'), { what: 'the unpaused partition' })
  await new Promise(resolve => setTimeout(resolve, 500))
  assert.ok(!got.includes('p0-b'), 'nothing from the paused partition')
  consumer.resume([{ topic, partitions: [0] }])
  await until(() => got.includes('p0-b'), { what: 'the resumed partition' })
  await consumer.seek({ topic, partition: 1, offset: '0' })
  await until(() => got.filter(v => v === 'p1-a').length === 2, { what: 'p1-a again after the seek' })
  await consumer.disconnect()
})

test('stop part way, then run again: every message exactly once, none skipped', async () => {
  const topic = await createTopic(ctx.kafka, unique('restart'), 3)
  const count = 3000
  await produce(topic, Array.from({ length: count }, (_, i) => ({ value: `r${i}`, partition: i % 3 })))
  const consumer = ctx.kafka.consumer({ groupId: unique('group') })
  await consumer.subscribe({ topic, fromBeginning: true })
  const seen = []
  let stopping = null
  const handler = async ({ partition, message }) => {
    seen.push(`${partition}:${message.offset}`)
    // Stop in the middle of a poll's messages, with other partitions' batches
    // still queued (not awaited here: stop waits for this handler).
    if (seen.length === 500 && !stopping) stopping = consumer.stop()
  }
  await consumer.run({ eachMessage: handler })
  await until(() => stopping !== null, { what: '500 messages' })
  await stopping
  const atStop = seen.length
  assert.ok(atStop < count, `stopped part way (${atStop} of ${count})`)
  await consumer.run({ eachMessage: handler })
  await until(() => seen.length >= count, { what: 'the rest after run() again' })
  await new Promise(resolve => setTimeout(resolve, 300))
  await consumer.disconnect()
  const expected = Array.from({ length: count }, (_, i) => `${i % 3}:${Math.floor(i / 3)}`)
  assert.equal(seen.length, count, 'nothing twice')
  assert.deepEqual([...seen].sort(), expected.sort(), 'nothing skipped')
})

test('leaving a for-await loop gives its unfinished batches back to the next loop', { timeout: 30000 }, async () => {
  const topic = await createTopic(ctx.kafka, unique('iterate-again'), 2)
  await produce(topic, Array.from({ length: 20 }, (_, i) => ({ value: `a${i}`, partition: i % 2 })))
  const consumer = ctx.kafka.consumer({ groupId: unique('group') })
  await consumer.subscribe({ topic, fromBeginning: true })
  for await (const batch of consumer) {
    if (batch.messages.length > 0) break // leaves without handling it
  }
  const got = []
  for await (const batch of consumer) {
    got.push(...batch.messages.map(m => m.value.toString()))
    if (got.length >= 20) break
  }
  await consumer.disconnect()
  assert.deepEqual(got.sort(), Array.from({ length: 20 }, (_, i) => `a${i}`).sort())
})

test('a seek while running wins over messages already on their way', async () => {
  const topic = await createTopic(ctx.kafka, unique('seek-race'))
  const count = 2000
  await produce(topic, Array.from({ length: count }, (_, i) => ({ value: `s${i}` })))
  const consumer = ctx.kafka.consumer({ groupId: unique('group') })
  await consumer.subscribe({ topic, fromBeginning: true })
  const offsets = []
  let sought = false
  await consumer.run({
    eachMessage: async ({ message }) => {
      offsets.push(Number(message.offset))
      if (!sought && offsets.length === 50) {
        sought = true
        // From inside the handler: the next poll is already issued.
        await consumer.seek({ topic, partition: 0, offset: '10' })
      }
    },
  })
  await until(() => offsets.length >= count + 40, { what: 'everything after the seek' })
  await consumer.disconnect()
  // 0..49, then from 10 on: nothing between the seek and offset 10 leaks through.
  const expected = [...Array.from({ length: 50 }, (_, i) => i), ...Array.from({ length: count - 10 }, (_, i) => i + 10)]
  assert.deepEqual(offsets.slice(0, expected.length), expected)
})

test('a RegExp subscription reads every matching topic', async () => {
  const prefix = unique('regex')
  await createTopic(ctx.kafka, `${prefix}-x`)
  await createTopic(ctx.kafka, `${prefix}-y`)
  await produce(`${prefix}-x`, [{ value: 'x' }])
  await produce(`${prefix}-y`, [{ value: 'y' }])
  const consumer = ctx.kafka.consumer({ groupId: unique('group') })
  await consumer.subscribe({ topics: [new RegExp(`${prefix}-[xy]`)], fromBeginning: true })
  const got = new Set()
  await consumer.run({ eachMessage: async ({ topic, message }) => got.add(`${topic}:${message.value}`) })
  await until(() => got.size === 2, { what: 'both topics' })
  await consumer.disconnect()
  assert.deepEqual([...got].sort(), [`${prefix}-x:x`, `${prefix}-y:y`])
})

test('describeGroup, stop and commitOffsets', async () => {
  const topic = await createTopic(ctx.kafka, unique('describe'))
  const groupId = unique('group')
  const consumer = await joinedConsumer(ctx.kafka, topic, groupId)
  const group = await consumer.describeGroup()
  assert.equal(group.groupId, groupId)
  assert.equal(group.state, 'Stable')
  assert.equal(group.members.length, 1)
  await consumer.commitOffsets([{ topic, partition: 0, offset: '0' }])
  assert.deepEqual(await committed(groupId, topic), ['0'])
  const stops = []
  consumer.on(consumer.events.STOP, e => stops.push(e.type))
  await consumer.stop()
  assert.deepEqual(stops, ['consumer.stop'])
  await consumer.disconnect()
})

test('for await over the consumer yields batches and commits what the loop finished', async () => {
  const topic = await createTopic(ctx.kafka, unique('iterate'), 2)
  const groupId = unique('group')
  await produce(topic, Array.from({ length: 20 }, (_, i) => ({ value: `i${i}`, partition: i % 2 })))
  const consumer = ctx.kafka.consumer({ groupId })
  await consumer.subscribe({ topic, fromBeginning: true })
  const got = []
  for await (const batch of consumer) {
    assert.equal(batch.topic, topic)
    got.push(...batch.messages.map(m => m.value.toString()))
    if (got.length === 20) break
  }
  assert.deepEqual(got.sort(), Array.from({ length: 20 }, (_, i) => `i${i}`).sort())
  // The batches before the last were committed when the loop asked for
  // more; the last one, which the loop broke out of, was not.
  const offsets = await committed(groupId, topic)
  assert.ok(offsets.every(o => Number(o) <= 10), String(offsets))
  await consumer.disconnect()
})
