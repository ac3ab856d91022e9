'use strict'
// kafkajs's admin client on the native one: the same calls, arguments
// and result shapes.
const { native } = require('./native')
const { call, callRetried, errorOf, KafkaJSNonRetriableError, KafkaJSAggregateError, KafkaJSDeleteGroupsError } = require('./errors')

const { Instrumentation } = require('./events')
const { InFlight } = require('./inflight')

const RESOURCE_KINDS = { 2: 'topic', 4: 'broker' }

const ADMIN_EVENTS = Object.freeze({
  CONNECT: 'admin.connect',
  DISCONNECT: 'admin.disconnect',
  REQUEST: 'admin.network.request',
  REQUEST_TIMEOUT: 'admin.network.request_timeout',
  REQUEST_QUEUE_SIZE: 'admin.network.request_queue_size',
})

/** Throws kafkajs's error for the first failed item (all of them aggregated when several failed). */
function failOn(outcomes, ignore = () => false) {
  const errors = outcomes
    .filter(o => o.error)
    .map(o => ({ name: o.name, error: errorOf(JSON.parse(o.error)) }))
    .filter(o => !ignore(o.error))
  if (errors.length === 1) throw errors[0].error
  if (errors.length > 1) {
    throw new KafkaJSAggregateError(
      errors.map(e => `${e.name}: ${e.error.message}`).join('; '),
      errors.map(e => e.error)
    )
  }
}

// The calls that talk to the cluster: disconnect() waits for those in flight.
const CALLS = [
  'createTopics', 'deleteTopics', 'createPartitions', 'listTopics', 'fetchTopicMetadata', 'describeCluster',
  'fetchTopicOffsets', 'fetchTopicOffsetsByTimestamp', 'fetchOffsets', 'setOffsets', 'resetOffsets',
  'deleteTopicRecords', 'describeConfigs', 'alterConfigs', 'listGroups', 'describeGroups', 'deleteGroups',
  'createAcls', 'describeAcls', 'deleteAcls',
]

/** An ACL filter as the native client takes it (kafkajs's fields; missing strings match any). */
function aclFilter(f) {
  return {
    resourceType: f.resourceType,
    resourceName: f.resourceName ?? undefined,
    resourcePatternType: f.resourcePatternType,
    principal: f.principal ?? undefined,
    host: f.host ?? undefined,
    operation: f.operation,
    permissionType: f.permissionType,
  }
}

function nonEmptyArray(items, what) {
  if (!Array.isArray(items)) throw new KafkaJSNonRetriableError(`Invalid ${what} array ${items}`)
  if (items.length === 0) throw new KafkaJSNonRetriableError(`Empty ${what} array`)
}

class Admin {
  constructor(settings, options = {}) {
    this.settings = settings
    this.options = options
    this.pending = null
    this.events = ADMIN_EVENTS
    this.instrumentation = new Instrumentation(ADMIN_EVENTS)
    this.inflight = new InFlight()
    for (const name of CALLS) {
      const call = this[name]
      this[name] = (...args) => this.inflight.track(call.apply(this, args))
    }
  }

  nativeAdmin() {
    if (!this.pending) {
      this.pending = callRetried(native.createAdmin(this.settings, this.options.tokenCallback), this.options.retries)
      this.pending.catch(() => (this.pending = null))
    }
    return this.pending
  }

  async connect() {
    await this.nativeAdmin()
    this.instrumentation.emit(ADMIN_EVENTS.CONNECT)
  }

  /** Waits for the calls already made (they settle first). */
  async disconnect() {
    await this.inflight.settled()
    this.pending = null
    this.instrumentation.emit(ADMIN_EVENTS.DISCONNECT)
  }

  /** true when every topic was created; false when one already existed. */
  async createTopics({ topics, validateOnly = false } = {}) {
    if (!Array.isArray(topics)) throw new KafkaJSNonRetriableError(`Invalid topics array ${topics}`)
    const admin = await this.nativeAdmin()
    const outcomes = await call(
      admin.createTopics(
        topics.map(t => ({
          topic: t.topic,
          numPartitions: t.numPartitions === undefined ? -1 : t.numPartitions,
          replicationFactor: t.replicationFactor === undefined ? -1 : t.replicationFactor,
          configs: (t.configEntries || []).map(({ name, value }) => ({ name, value: String(value) })),
        })),
        validateOnly
      )
    )
    const exists = e => e.type === 'TOPIC_ALREADY_EXISTS'
    failOn(outcomes, exists)
    return !outcomes.some(o => o.error)
  }

  async deleteTopics({ topics } = {}) {
    const admin = await this.nativeAdmin()
    failOn(await call(admin.deleteTopics(topics)))
  }

  async createPartitions({ topicPartitions, validateOnly = false } = {}) {
    const admin = await this.nativeAdmin()
    const totals = topicPartitions.map(({ topic, count }) => ({ topic, count }))
    failOn(await call(admin.createPartitions(totals, validateOnly)))
    return true
  }

  async listTopics() {
    const admin = await this.nativeAdmin()
    return call(admin.listTopics())
  }

  async fetchTopicMetadata({ topics } = {}) {
    const admin = await this.nativeAdmin()
    const metadata = await call(admin.metadata(topics && topics.length > 0 ? topics : null))
    for (const topic of metadata.topics) {
      if (topic.errorCode !== 0) {
        throw errorOf({ kafkaCode: topic.errorCode, name: 'UNKNOWN_TOPIC_OR_PARTITION', retriable: true, message: `This server does not host this topic-partition: ${topic.name}` })
      }
    }
    return {
      topics: metadata.topics.map(t => ({
        name: t.name,
        partitions: t.partitions.map(p => ({
          partitionErrorCode: p.partitionErrorCode,
          partitionId: p.partitionId,
          leader: p.leader,
          replicas: p.replicas,
          isr: p.isr,
          offlineReplicas: p.offlineReplicas,
        })),
      })),
    }
  }

  async describeCluster() {
    const admin = await this.nativeAdmin()
    const metadata = await call(admin.metadata([]))
    return {
      brokers: metadata.brokers.map(({ nodeId, host, port }) => ({ nodeId, host, port })),
      controller: metadata.controller,
      clusterId: metadata.clusterId,
    }
  }

  async partitionsOf(topic) {
    const { topics } = await this.fetchTopicMetadata({ topics: [topic] })
    return topics[0].partitions.map(p => p.partitionId).sort((a, b) => a - b)
  }

  async listOffsets(topic, spec) {
    const admin = await this.nativeAdmin()
    const partitions = await this.partitionsOf(topic)
    return call(admin.listOffsets(partitions.map(partition => ({ topic, partition, spec: String(spec) }))))
  }

  /** [{ partition, offset, high, low }]: offset and high are the log end. */
  async fetchTopicOffsets(topic) {
    const [high, low] = await Promise.all([this.listOffsets(topic, 'latest'), this.listOffsets(topic, 'earliest')])
    return high.map((h, i) => ({
      partition: h.partition,
      offset: String(h.offset),
      high: String(h.offset),
      low: String(low[i].offset),
    }))
  }

  /** [{ partition, offset }]: the first offset at or after `timestamp`, or the log end. */
  async fetchTopicOffsetsByTimestamp(topic, timestamp) {
    if (timestamp === undefined) {
      return (await this.fetchTopicOffsets(topic)).map(({ partition, offset }) => ({ partition, offset }))
    }
    const [found, high] = await Promise.all([this.listOffsets(topic, timestamp), this.listOffsets(topic, 'latest')])
    return found.map((f, i) => ({ partition: f.partition, offset: String(f.offset >= 0 ? f.offset : high[i].offset) }))
  }

  /** kafkajs 2's shape: [{ topic, partitions: [{ partition, offset, metadata }] }]. */
  async fetchOffsets({ groupId, topics } = {}) {
    if (!groupId) throw new KafkaJSNonRetriableError(`Invalid groupId ${groupId}`)
    const admin = await this.nativeAdmin()
    const names = topics && topics.length > 0 ? topics : null
    let wanted = null
    if (names) {
      wanted = []
      for (const topic of names) {
        for (const partition of await this.partitionsOf(topic)) wanted.push({ topic, partition })
      }
    }
    const offsets = await call(admin.groupOffsets(groupId, wanted))
    const byTopic = new Map((names || []).map(t => [t, []]))
    for (const { topic, partition, offset } of offsets) {
      if (!byTopic.has(topic)) byTopic.set(topic, [])
      byTopic.get(topic).push({ partition, offset: String(offset), metadata: null })
    }
    return [...byTopic.entries()].map(([topic, partitions]) => ({
      topic,
      partitions: partitions.sort((a, b) => a.partition - b.partition),
    }))
  }

  async setOffsets({ groupId, topic, partitions } = {}) {
    const admin = await this.nativeAdmin()
    await call(
      admin.setGroupOffsets(
        groupId,
        partitions.map(({ partition, offset }) => ({ topic, partition, offset: Number(offset) }))
      )
    )
  }

  async resetOffsets({ groupId, topic, earliest = false } = {}) {
    const offsets = await this.listOffsets(topic, earliest ? 'earliest' : 'latest')
    await this.setOffsets({ groupId, topic, partitions: offsets.map(({ partition, offset }) => ({ partition, offset })) })
  }

  async deleteTopicRecords({ topic, partitions } = {}) {
    const admin = await this.nativeAdmin()
    const high = await this.listOffsets(topic, 'latest')
    const before = partitions.map(({ partition, offset }) => {
      const end = high.find(h => h.partition === partition)
      const target = Number(offset) === -1 && end ? end.offset : Number(offset)
      return { topic, partition, offset: target }
    })
    await call(admin.deleteRecords(before))
  }

  async describeConfigs({ resources } = {}) {
    const admin = await this.nativeAdmin()
    const described = []
    for (const { type, name, configNames } of resources) {
      const kind = RESOURCE_KINDS[type]
      if (!kind) throw new KafkaJSNonRetriableError(`strom: config resource type ${type} is not supported`)
      const entries = await call(admin.describeConfigs(kind, String(name), configNames && configNames.length ? configNames : null))
      described.push({
        errorCode: 0,
        errorMessage: null,
        resourceName: String(name),
        resourceType: type,
        configEntries: entries.map(e => ({
          configName: e.configName,
          configValue: e.configValue === undefined ? null : e.configValue,
          readOnly: e.readOnly,
          isDefault: e.isDefault,
          configSource: e.configSource,
          isSensitive: e.isSensitive,
          configSynonyms: [],
        })),
      })
    }
    return { resources: described, throttleTime: 0 }
  }

  async alterConfigs({ validateOnly = false, resources } = {}) {
    const admin = await this.nativeAdmin()
    const altered = []
    for (const { type, name, configEntries } of resources) {
      const kind = RESOURCE_KINDS[type]
      if (!kind) throw new KafkaJSNonRetriableError(`strom: config resource type ${type} is not supported`)
      await call(admin.alterConfigs(kind, String(name), configEntries.map(({ name, value }) => ({ name, value: String(value) })), validateOnly))
      altered.push({ errorCode: 0, errorMessage: null, resourceName: String(name), resourceType: type })
    }
    return { resources: altered, throttleTime: 0 }
  }

  async listGroups() {
    const admin = await this.nativeAdmin()
    const groups = await call(admin.listGroups())
    return { groups: groups.map(({ groupId, protocolType }) => ({ groupId, protocolType })) }
  }

  async describeGroups(groupIds) {
    const admin = await this.nativeAdmin()
    const groups = await call(admin.describeGroups(groupIds))
    return {
      groups: groups.map(g => ({
        groupId: g.groupId,
        state: g.state,
        protocol: g.protocol,
        protocolType: g.protocolType,
        errorCode: 0,
        members: g.members.map(m => ({
          memberId: m.memberId,
          clientId: m.clientId,
          clientHost: m.clientHost,
          memberMetadata: Buffer.alloc(0),
          memberAssignment: Buffer.alloc(0),
        })),
      })),
    }
  }

  /** kafkajs's `createAcls({ acl })`: true once every ACL is created. */
  async createAcls({ acl } = {}) {
    nonEmptyArray(acl, 'ACL')
    const admin = await this.nativeAdmin()
    failOn(await call(admin.createAcls(acl.map(a => ({ ...aclFilter(a), resourceName: a.resourceName, principal: a.principal, host: a.host })))))
    return true
  }

  /** kafkajs's `describeAcls(filter)`: `{ resources }`, grouped by resource pattern. */
  async describeAcls(filter = {}) {
    const admin = await this.nativeAdmin()
    const acls = await call(admin.describeAcls(aclFilter(filter)))
    const resources = new Map()
    for (const a of acls) {
      const key = `${a.resourceType}:${a.resourcePatternType}:${a.resourceName}`
      if (!resources.has(key)) {
        resources.set(key, {
          resourceType: a.resourceType,
          resourceName: a.resourceName,
          resourcePatternType: a.resourcePatternType,
          acls: [],
        })
      }
      const { principal, host, operation, permissionType } = a
      resources.get(key).acls.push({ principal, host, operation, permissionType })
    }
    return { resources: [...resources.values()] }
  }

  /** kafkajs's `deleteAcls({ filters })`: `{ filterResponses }` with the ACLs each filter deleted. */
  async deleteAcls({ filters } = {}) {
    nonEmptyArray(filters, 'ACL Filter')
    const admin = await this.nativeAdmin()
    const results = await call(admin.deleteAcls(filters.map(aclFilter)))
    failOn(results.map((r, i) => ({ name: `filter ${i}`, error: r.error })))
    return {
      filterResponses: results.map(r => ({
        errorCode: 0,
        errorMessage: null,
        matchingAcls: r.acls.map(a => ({ errorCode: 0, errorMessage: null, ...a })),
      })),
    }
  }

  async deleteGroups(groupIds) {
    const admin = await this.nativeAdmin()
    const outcomes = await call(admin.deleteGroups(groupIds))
    const results = outcomes.map(o => {
      const error = o.error ? errorOf(JSON.parse(o.error)) : null
      return { groupId: o.name, errorCode: error ? error.code : 0, error }
    })
    const failed = results.filter(r => r.error)
    if (failed.length > 0) {
      throw new KafkaJSDeleteGroupsError('Error in DeleteGroups', failed)
    }
    return results.map(({ groupId, errorCode }) => ({ groupId, errorCode }))
  }

  logger() {
    return this.options.logger
  }

  /** CONNECT and DISCONNECT; the network.* request events are not emitted. */
  on(name, listener) {
    return this.instrumentation.on(name, listener)
  }
}

module.exports = { Admin }
