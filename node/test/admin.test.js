'use strict'
const { test } = require('node:test')
const assert = require('node:assert/strict')
const { ConfigResourceTypes, KafkaJSProtocolError, KafkaJSDeleteGroupsError, KafkaJSNonRetriableError } = require('..')
const { useBroker, until, unique, joinedConsumer, checkConnectEvents } = require('./helpers')

const ctx = useBroker()

async function withAdmin(work) {
  const admin = ctx.kafka.admin()
  await admin.connect()
  try {
    return await work(admin)
  } finally {
    await admin.disconnect()
  }
}

test('topics: create (false when it exists), list, metadata, add partitions, delete', () =>
  withAdmin(async admin => {
    const topic = unique('admin-topic')
    assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: 2, configEntries: [{ name: 'retention.ms', value: '3600000' }] }] }), true)
    assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] }), false)
    await assert.rejects(admin.createTopics({ topics: [{ topic: unique('huge'), replicationFactor: 100000 }] }), KafkaJSNonRetriableError)
    assert.ok((await admin.listTopics()).includes(topic))
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] })
    assert.equal(topics[0].name, topic)
    assert.deepEqual(topics[0].partitions.map(p => p.partitionId).sort(), [0, 1])
    const { brokers } = await admin.describeCluster()
    const node = brokers[0].nodeId
    assert.ok(topics[0].partitions.every(p => p.leader === node && p.partitionErrorCode === 0 && p.isr.join() === String(node)))
    await admin.createPartitions({ topicPartitions: [{ topic, count: 3 }] })
    // Apache Kafka's metadata catches up a moment later.
    await until(async () => (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0].partitions.length === 3, {
      what: 'the third partition',
    })
    await admin.deleteTopics({ topics: [topic] })
    await until(async () => !(await admin.listTopics()).includes(topic), { what: 'the deletion' })
    await assert.rejects(admin.fetchTopicMetadata({ topics: [topic] }), KafkaJSProtocolError)
  }))

test('configs: describe a topic and a broker, alter a topic', () =>
  withAdmin(async admin => {
    const topic = unique('admin-config')
    await admin.createTopics({ topics: [{ topic }] })
    await admin.alterConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: 'retention.ms', value: '7200000' }] }] })
    const describe = () =>
      admin.describeConfigs({
        resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['retention.ms', 'cleanup.policy'] }],
        includeSynonyms: false,
      })
    // Apache Kafka's brokers learn of a new topic, and of a changed
    // config, a moment after the controller answered.
    const described = await until(
      async () => {
        const answer = await describe().catch(() => null)
        const value = answer && answer.resources[0].configEntries.find(e => e.configName === 'retention.ms')
        return value && value.configValue === '7200000' && answer
      },
      { what: 'the altered config' }
    )
    const entries = Object.fromEntries(described.resources[0].configEntries.map(e => [e.configName, e]))
    assert.equal(entries['retention.ms'].configValue, '7200000')
    assert.equal(entries['retention.ms'].isDefault, false)
    assert.equal(entries['cleanup.policy'].configValue, 'delete')
    const cluster = await admin.describeCluster()
    assert.deepEqual(cluster.brokers.map(b => `${b.host}:${b.port}`), ctx.broker.brokers)
    assert.equal(cluster.controller, cluster.brokers[0].nodeId)
    const broker = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.BROKER, name: String(cluster.controller) }] })
    assert.ok(broker.resources[0].configEntries.some(e => e.configName === 'log.retention.hours' || e.configName === 'num.partitions'))
  }))

test('offsets: topic offsets, by timestamp, group offsets set/reset/fetch, delete records', () =>
  withAdmin(async admin => {
    const topic = unique('admin-offsets')
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] })
    const producer = ctx.kafka.producer()
    await producer.connect()
    await producer.send({ topic, messages: [1, 2, 3, 4].map(i => ({ value: `v${i}`, timestamp: String(1_000_000 * i) })) })
    await producer.disconnect()
    assert.deepEqual(await admin.fetchTopicOffsets(topic), [{ partition: 0, offset: '4', high: '4', low: '0' }])
    assert.deepEqual(await admin.fetchTopicOffsetsByTimestamp(topic, 2_500_000), [{ partition: 0, offset: '2' }])
    assert.deepEqual(await admin.fetchTopicOffsetsByTimestamp(topic, 9_000_000), [{ partition: 0, offset: '4' }])
    const groupId = unique('admin-group')
    await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '3' }] })
    assert.deepEqual(await admin.fetchOffsets({ groupId, topics: [topic] }), [{ topic, partitions: [{ partition: 0, offset: '3', metadata: null }] }])
    await admin.resetOffsets({ groupId, topic, earliest: true })
    assert.equal((await admin.fetchOffsets({ groupId, topics: [topic] }))[0].partitions[0].offset, '0')
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '2' }] })
    assert.deepEqual(await admin.fetchTopicOffsets(topic), [{ partition: 0, offset: '4', high: '4', low: '2' }])
  }))

test('groups: list, describe, delete; deleting a group that has members fails as kafkajs does', () =>
  withAdmin(async admin => {
    const topic = unique('admin-groups')
    await admin.createTopics({ topics: [{ topic }] })
    const groupId = unique('admin-live')
    const consumer = await joinedConsumer(ctx.kafka, topic, groupId)
    const { groups } = await admin.listGroups()
    assert.ok(groups.some(g => g.groupId === groupId && g.protocolType === 'consumer'))
    const described = await admin.describeGroups([groupId])
    assert.equal(described.groups[0].state, 'Stable')
    assert.equal(described.groups[0].members.length, 1)
    await assert.rejects(admin.deleteGroups([groupId]), error => {
      assert.ok(error instanceof KafkaJSDeleteGroupsError)
      assert.equal(error.groups[0].groupId, groupId)
      return true
    })
    await consumer.disconnect()
    assert.deepEqual(await admin.deleteGroups([groupId]), [{ groupId, errorCode: 0 }])
  }))

test('admin events: connect and disconnect, with a remover', () => checkConnectEvents(ctx.kafka.admin(), 'admin'))
