// A kafkajs program in the style of its documentation (Admin, Producing
// with sendBatch, Consuming with eachBatch, resolveOffset and heartbeat,
// then the group's offsets), as a kafkajs user has it. The test suite
// (node/test/kafkajs.test.js) runs it twice against the same broker: as
// it is, and with `require('kafkajs')` swapped for `require('strom')`;
// both must print the same.
const { Kafka, logLevel, CompressionTypes } = require('kafkajs')

const topic = process.env.TOPIC
const groupId = `${topic}-batch-group`
const kafka = new Kafka({ clientId: 'docs-app', brokers: process.env.BROKERS.split(','), logLevel: logLevel.NOTHING })

const sortBy = (list, ...keys) =>
  [...list].sort((a, b) => {
    for (const key of keys) {
      if (a[key] !== b[key]) return a[key] < b[key] ? -1 : 1
    }
    return 0
  })

const run = async () => {
  // Admin: a topic with three partitions.
  const admin = kafka.admin()
  await admin.connect()
  console.log('created:', await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] }))
  const { topics } = await admin.fetchTopicMetadata({ topics: [topic] })
  console.log('partitions:', topics[0].partitions.length)

  // Producing: one sendBatch, keyed (the key picks the partition), GZIP.
  const producer = kafka.producer()
  await producer.connect()
  const messages = Array.from({ length: 12 }, (_, i) => ({ key: `user-${i % 4}`, value: `event ${i}`, headers: { n: String(i) } }))
  const written = await producer.sendBatch({ topicMessages: [{ topic, messages }], compression: CompressionTypes.GZIP })
  console.log('written:', sortBy(written, 'partition').map(r => `${r.partition}@${r.baseOffset} error ${r.errorCode}`))
  await producer.disconnect()

  const offsets = await admin.fetchTopicOffsets(topic)
  console.log('topic offsets:', sortBy(offsets, 'partition').map(o => `${o.partition}: ${o.low}..${o.high}`))

  // Consuming: eachBatch, resolving each offset and heartbeating.
  const consumer = kafka.consumer({ groupId })
  await consumer.connect()
  await consumer.subscribe({ topics: [topic], fromBeginning: true })
  const seen = []
  await new Promise(resolve => {
    consumer.run({
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        for (const message of batch.messages) {
          if (!isRunning() || isStale()) break
          seen.push({ partition: batch.partition, offset: Number(message.offset), key: message.key.toString(), value: message.value.toString(), n: message.headers.n.toString() })
          resolveOffset(message.offset)
          await heartbeat()
        }
        if (seen.length === messages.length) resolve()
      },
    })
  })
  for (const m of sortBy(seen, 'partition', 'offset')) console.log(`p${m.partition} #${m.offset} ${m.key} = ${m.value} (n=${m.n})`)
  await consumer.disconnect()

  // The group's committed offsets, its state once everyone left, and its removal.
  const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] })
  console.log('committed:', sortBy(committed.partitions, 'partition').map(p => `${p.partition}: ${p.offset}`))
  const { groups } = await admin.describeGroups([groupId])
  console.log('group:', groups[0].groupId === groupId, groups[0].state, groups[0].members.length, 'members')
  console.log('deleted:', (await admin.deleteGroups([groupId])).map(g => g.errorCode))
  await admin.disconnect()
}

run().catch(e => {
  console.error(e)
  process.exit(1)
})
