'use strict'
// kafkajs's consumer on the native one: `run` polls the core and calls
// eachMessage / eachBatch, commits what the handlers resolved, and
// reports through kafkajs's instrumentation events. Joining, fetching,
// heartbeats and offsets live in the core (strom-client).
const { native } = require('./native')
const { call, KafkaJSNonRetriableError } = require('./errors')
const { Instrumentation } = require('./events')

const CONSUMER_EVENTS = Object.freeze({
  HEARTBEAT: 'consumer.heartbeat',
  COMMIT_OFFSETS: 'consumer.commit_offsets',
  GROUP_JOIN: 'consumer.group_join',
  FETCH_START: 'consumer.fetch_start',
  FETCH: 'consumer.fetch',
  START_BATCH_PROCESS: 'consumer.start_batch_process',
  END_BATCH_PROCESS: 'consumer.end_batch_process',
  CONNECT: 'consumer.connect',
  DISCONNECT: 'consumer.disconnect',
  STOP: 'consumer.stop',
  CRASH: 'consumer.crash',
  REBALANCING: 'consumer.rebalancing',
  RECEIVED_UNSUBSCRIBED_TOPICS: 'consumer.received_unsubscribed_topics',
  REQUEST: 'consumer.network.request',
  REQUEST_TIMEOUT: 'consumer.network.request_timeout',
  REQUEST_QUEUE_SIZE: 'consumer.network.request_queue_size',
})

// How long one native poll waits: short, so stop() and pause() act soon.
const POLL_SLICE_MS = 200
const MAX_POLL_RECORDS = 500

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))
const tpKey = (topic, partition) => `${topic}\u0000${partition}`

/** A RegExp as a whole-name pattern (the core's syntax, librdkafka's `^` prefix). */
function patternOf(regex) {
  const flags = regex.flags.includes('i') ? '(?i)' : ''
  return `^${flags}.*(?:${regex.source}).*`
}

/** Records grouped by partition, each group in offset order. */
function byPartition(records) {
  const batches = new Map()
  for (const record of records) {
    const key = tpKey(record.topic, record.partition)
    if (!batches.has(key)) batches.set(key, [])
    batches.get(key).push(record)
  }
  return [...batches.values()]
}

/** kafkajs's Offsets ({ topics: [{ topic, partitions: [{ partition, offset }] }] }) as a flat list. */
function flattenOffsets(offsets) {
  if (Array.isArray(offsets)) return offsets
  return (offsets.topics || []).flatMap(({ topic, partitions }) =>
    partitions.map(({ partition, offset }) => ({ topic, partition, offset }))
  )
}

/** kafkajs's message shape. */
function messageOf(record) {
  const headers = {}
  for (const header of record.headers) {
    const key = header.key
    const value = header.value === undefined ? null : header.value
    if (key in headers) {
      headers[key] = [].concat(headers[key], value)
    } else {
      headers[key] = value
    }
  }
  return {
    key: record.key === undefined ? null : record.key,
    value: record.value === undefined ? null : record.value,
    timestamp: String(record.timestamp),
    attributes: 0,
    offset: String(record.offset),
    headers,
    size: 0,
  }
}

/** kafkajs's Batch: the messages of one partition from one poll. */
class Batch {
  constructor(topic, partition, records, highWatermark) {
    this.topic = topic
    this.partition = partition
    this.highWatermark = String(highWatermark)
    this.messages = records.map(messageOf)
  }

  isEmpty() {
    return this.messages.length === 0
  }

  firstOffset() {
    return this.isEmpty() ? null : this.messages[0].offset
  }

  lastOffset() {
    return this.isEmpty() ? String(Number(this.highWatermark) - 1) : this.messages[this.messages.length - 1].offset
  }

  offsetLag() {
    return String(Number(this.highWatermark) - 1 - Number(this.lastOffset()))
  }

  offsetLagLow() {
    return this.isEmpty() ? '0' : String(Number(this.highWatermark) - 1 - Number(this.firstOffset()))
  }
}

class Consumer {
  constructor(settings, options = {}) {
    if (!options.groupId) throw new KafkaJSNonRetriableError('Consumer groupId must be a non-empty string.')
    this.options = options
    this.settings = settings
    this.groupId = options.groupId
    this.native = null
    this.subscriptions = []
    this.fromBeginning = false
    this.running = false
    this.loop = null
    this.pausedTopics = new Set()
    this.resolved = new Map() // tpKey -> { topic, partition, offset } to commit
    this.lastCommit = Date.now()
    this.uncommittedCount = 0
    this.membership = { memberId: null, generationId: null }
    this.joinReported = null
    this.joinSeen = null
    this.admin = null
    this.events = CONSUMER_EVENTS
    this.instrumentation = new Instrumentation(CONSUMER_EVENTS)
  }

  nativeSettings() {
    const o = this.options
    const settings = [
      ...this.settings,
      ['group.id', this.groupId],
      ['enable.auto.commit', 'false'],
      ['auto.offset.reset', this.fromBeginning ? 'earliest' : 'latest'],
      ['partition.assignment.strategy', 'roundrobin'],
      ['max.poll.records', String(MAX_POLL_RECORDS)],
    ]
    const optional = [
      ['session.timeout.ms', o.sessionTimeout],
      ['max.poll.interval.ms', o.rebalanceTimeout],
      ['heartbeat.interval.ms', o.heartbeatInterval],
      ['max.partition.fetch.bytes', o.maxBytesPerPartition],
      ['fetch.min.bytes', o.minBytes],
      ['fetch.max.bytes', o.maxBytes],
      ['fetch.max.wait.ms', o.maxWaitTimeInMs],
      ['allow.auto.create.topics', o.allowAutoTopicCreation],
    ]
    for (const [name, value] of optional) {
      if (value !== undefined) settings.push([name, String(value)])
    }
    if (o.readUncommitted) settings.push(['isolation.level', 'read_uncommitted'])
    return settings
  }

  async connect() {
    this.instrumentation.emit(CONSUMER_EVENTS.CONNECT)
  }

  async subscribe({ topic, topics, fromBeginning = false } = {}) {
    if (this.running) throw new KafkaJSNonRetriableError('Cannot subscribe to topic while consumer is running')
    const list = topics || (topic !== undefined ? [topic] : [])
    if (list.length === 0) throw new KafkaJSNonRetriableError('Missing required argument "topics"')
    for (const t of list) {
      if (t instanceof RegExp) this.subscriptions.push(patternOf(t))
      else if (typeof t === 'string' && t.length > 0) this.subscriptions.push(t)
      else throw new KafkaJSNonRetriableError(`Invalid topic ${t}`)
    }
    this.fromBeginning = this.fromBeginning || fromBeginning
  }

  async run(config = {}) {
    if (this.running) return
    if (!config.eachMessage && !config.eachBatch) {
      throw new KafkaJSNonRetriableError('Consumer must be given eachMessage or eachBatch')
    }
    this.config = {
      autoCommit: true,
      autoCommitInterval: null,
      autoCommitThreshold: null,
      eachBatchAutoResolve: true,
      partitionsConsumedConcurrently: 1,
      ...config,
    }
    if (!this.native) this.native = await call(native.createConsumer(this.nativeSettings()))
    await call(this.native.subscribe(this.subscriptions))
    this.running = true
    this.loop = this.consume().catch(error => {
      this.running = false
      this.instrumentation.emit(CONSUMER_EVENTS.CRASH, { error, groupId: this.groupId, restart: false })
    })
  }

  /**
   * `for await (const batch of consumer)`: kafkajs Batches, one per
   * partition per poll, after `subscribe` (instead of `run`). A batch is
   * committed (with autoCommit, the default) once the loop asks for the
   * next one; leaving the loop commits those and stops the consumer.
   */
  async *[Symbol.asyncIterator]() {
    if (this.running) throw new KafkaJSNonRetriableError('The consumer is already running')
    this.config = { autoCommit: true, autoCommitInterval: null, autoCommitThreshold: null, ...this.config }
    if (!this.native) this.native = await call(native.createConsumer(this.nativeSettings()))
    await call(this.native.subscribe(this.subscriptions))
    this.running = true
    try {
      while (this.running) {
        const started = Date.now()
        const records = await call(this.native.poll(MAX_POLL_RECORDS, POLL_SLICE_MS))
        await this.noticeMembership(started)
        for (const partitionRecords of byPartition(records)) {
          const last = partitionRecords[partitionRecords.length - 1]
          yield new Batch(last.topic, last.partition, partitionRecords, last.offset + 1)
          this.resolve(last.topic, last.partition, last.offset)
        }
        if (this.config.autoCommit) await this.commitIfDue(false)
      }
    } finally {
      this.running = false
      if (this.config.autoCommit && this.native) await this.commitIfDue(true)
    }
  }

  async consume() {
    let failures = 0
    while (this.running) {
      this.instrumentation.emit(CONSUMER_EVENTS.FETCH_START, {})
      const started = Date.now()
      const records = await call(this.native.poll(MAX_POLL_RECORDS, POLL_SLICE_MS))
      if (!this.running) break
      await this.noticeMembership(started)
      this.instrumentation.emit(CONSUMER_EVENTS.FETCH, {
        numberOfBatches: records.length > 0 ? 1 : 0,
        duration: Date.now() - started,
      })
      const failed = await this.process(records)
      failures = failed ? failures + 1 : 0
      if (failed) await sleep(Math.min(30000, 300 * 2 ** Math.min(failures, 7)))
      if (this.config.autoCommit) await this.commitIfDue(false)
      this.instrumentation.emit(CONSUMER_EVENTS.HEARTBEAT, {
        groupId: this.groupId,
        memberId: this.membership.memberId,
        groupGenerationId: this.membership.generationId,
      })
    }
    if (this.config.autoCommit) await this.commitIfDue(true)
  }

  /**
   * GROUP_JOIN once per generation and assignment. A poll can return
   * between the join and the sync (the generation is new, the partitions
   * not there yet), so an empty assignment is reported only when the next
   * poll still shows it.
   */
  async noticeMembership(started) {
    const now = await call(this.native.membership())
    // The addon gives undefined until the member joined.
    if (now.generationId == null) return
    const assignment = await call(this.native.assignment())
    const key = `${now.generationId}|${assignment.map(a => tpKey(a.topic, a.partition)).sort().join(',')}`
    if (key === this.joinReported) return
    if (assignment.length === 0 && key !== this.joinSeen) {
      this.joinSeen = key
      return
    }
    this.joinReported = key
    this.membership = now
    const memberAssignment = {}
    for (const { topic, partition } of assignment) {
      ;(memberAssignment[topic] = memberAssignment[topic] || []).push(partition)
    }
    this.instrumentation.emit(CONSUMER_EVENTS.GROUP_JOIN, {
      duration: Date.now() - started,
      groupId: this.groupId,
      isLeader: false,
      leaderId: null,
      groupProtocol: 'RoundRobinAssigner',
      memberId: now.memberId,
      memberAssignment,
    })
  }

  /** Hands the records to the handlers, partition by partition; true if one failed. */
  async process(records) {
    const queue = byPartition(records)
    let failed = false
    const worker = async () => {
      while (queue.length > 0 && this.running) {
        const batch = queue.shift()
        if (!(await this.processBatch(batch))) failed = true
      }
    }
    const workers = Math.max(1, Math.min(this.config.partitionsConsumedConcurrently, queue.length))
    await Promise.all(Array.from({ length: workers }, worker))
    return failed
  }

  resolve(topic, partition, offset) {
    this.resolved.set(tpKey(topic, partition), { topic, partition, offset: String(Number(offset) + 1) })
    this.uncommittedCount += 1
  }

  isPaused(topic, partition) {
    return this.pausedTopics.has(tpKey(topic, partition)) || this.pausedTopics.has(tpKey(topic, '*'))
  }

  /** Runs the handler over one partition's records; false when it threw. */
  async processBatch(records) {
    const { topic, partition } = records[0]
    const pause = () => {
      this.pause([{ topic, partitions: [partition] }])
      return () => this.resume([{ topic, partitions: [partition] }])
    }
    const heartbeat = async () => {}
    const batch = new Batch(topic, partition, records, records[records.length - 1].offset + 1)
    const payload = { topic, partition, highWatermark: batch.highWatermark, offsetLag: batch.offsetLag(), offsetLagLow: batch.offsetLagLow(), batchSize: records.length, firstOffset: batch.firstOffset(), lastOffset: batch.lastOffset() }
    this.instrumentation.emit(CONSUMER_EVENTS.START_BATCH_PROCESS, payload)
    const started = Date.now()
    let next = records[0].offset
    try {
      if (this.config.eachMessage) {
        for (let i = 0; i < records.length; i++) {
          if (!this.running || this.isPaused(topic, partition)) break
          next = records[i].offset
          await this.config.eachMessage({ topic, partition, message: batch.messages[i], heartbeat, pause })
          this.resolve(topic, partition, records[i].offset)
          next = records[i].offset + 1
        }
      } else {
        const resolveOffset = offset => {
          this.resolve(topic, partition, offset)
          next = Number(offset) + 1
        }
        await this.config.eachBatch({
          batch,
          resolveOffset,
          heartbeat,
          pause,
          commitOffsetsIfNecessary: async offsets => (offsets ? this.commitOffsets(flattenOffsets(offsets)) : this.commitIfDue(false)),
          uncommittedOffsets: () => ({ topics: this.uncommitted() }),
          isRunning: () => this.running,
          isStale: () => false,
        })
        if (this.config.eachBatchAutoResolve && this.running && !this.isPaused(topic, partition)) {
          resolveOffset(batch.lastOffset())
        }
      }
    } catch (error) {
      // The failed record is read again: as kafkajs does, after a backoff.
      await call(this.native.seek(topic, partition, next))
      this.instrumentation.emit(CONSUMER_EVENTS.CRASH, { error, groupId: this.groupId, restart: true })
      return false
    } finally {
      this.instrumentation.emit(CONSUMER_EVENTS.END_BATCH_PROCESS, { ...payload, duration: Date.now() - started })
    }
    if (next <= records[records.length - 1].offset && this.running) {
      // Stopped part way (pause, or eachBatch resolved less): the rest is read again.
      await call(this.native.seek(topic, partition, next))
    }
    return true
  }

  uncommitted() {
    const byTopic = new Map()
    for (const { topic, partition, offset } of this.resolved.values()) {
      if (!byTopic.has(topic)) byTopic.set(topic, [])
      byTopic.get(topic).push({ partition: String(partition), offset })
    }
    return [...byTopic.entries()].map(([topic, partitions]) => ({ topic, partitions }))
  }

  async commitIfDue(force) {
    if (this.resolved.size === 0) return
    const { autoCommitInterval, autoCommitThreshold } = this.config
    const byTime = autoCommitInterval !== null && Date.now() - this.lastCommit >= autoCommitInterval
    const byCount = autoCommitThreshold !== null && this.uncommittedCount >= autoCommitThreshold
    const eachRound = autoCommitInterval === null && autoCommitThreshold === null
    if (force || eachRound || byTime || byCount) {
      await this.commitOffsets([...this.resolved.values()])
    }
  }

  async commitOffsets(offsets) {
    const list = offsets.map(({ topic, partition, offset }) => ({
      topic,
      partition: Number(partition),
      offset: Number(offset),
    }))
    if (list.length === 0) return
    await call(this.ensureNative().commit(list))
    for (const { topic, partition, offset } of list) {
      const key = tpKey(topic, partition)
      const pending = this.resolved.get(key)
      if (pending && Number(pending.offset) <= offset) this.resolved.delete(key)
    }
    this.uncommittedCount = 0
    this.lastCommit = Date.now()
    const topics = new Map()
    for (const { topic, partition, offset } of list) {
      if (!topics.has(topic)) topics.set(topic, [])
      topics.get(topic).push({ partition: String(partition), offset: String(offset) })
    }
    this.instrumentation.emit(CONSUMER_EVENTS.COMMIT_OFFSETS, {
      groupId: this.groupId,
      memberId: this.membership.memberId,
      groupGenerationId: this.membership.generationId,
      topics: [...topics.entries()].map(([topic, partitions]) => ({ topic, partitions })),
    })
  }

  ensureNative() {
    if (!this.native) throw new KafkaJSNonRetriableError('The consumer is not running: call run() first')
    return this.native
  }

  seek({ topic, partition, offset }) {
    const target = Number(offset)
    if (!Number.isInteger(target)) throw new KafkaJSNonRetriableError(`Invalid offset ${offset}`)
    this.resolved.delete(tpKey(topic, partition))
    return call(this.ensureNative().seek(topic, Number(partition), target))
  }

  async partitionsOf(topicPartitions) {
    const assigned = this.native ? await call(this.native.assignment()) : []
    const out = []
    for (const { topic, partitions } of topicPartitions) {
      const chosen = partitions || assigned.filter(a => a.topic === topic).map(a => a.partition)
      for (const partition of chosen) out.push({ topic, partition: Number(partition) })
    }
    return out
  }

  pause(topicPartitions) {
    for (const { topic, partitions } of topicPartitions) {
      if (!partitions) this.pausedTopics.add(tpKey(topic, '*'))
      else for (const p of partitions) this.pausedTopics.add(tpKey(topic, Number(p)))
    }
    if (!this.native) return
    this.partitionsOf(topicPartitions)
      .then(list => call(this.native.pause(list)))
      .catch(() => {})
  }

  resume(topicPartitions) {
    for (const { topic, partitions } of topicPartitions) {
      if (!partitions) {
        for (const key of [...this.pausedTopics]) if (key.startsWith(`${topic}\u0000`)) this.pausedTopics.delete(key)
      } else {
        for (const p of partitions) this.pausedTopics.delete(tpKey(topic, Number(p)))
      }
    }
    if (!this.native) return
    this.partitionsOf(topicPartitions.map(({ topic, partitions }) => ({ topic, partitions })))
      .then(list => call(this.native.resume(list)))
      .catch(() => {})
  }

  paused() {
    const byTopic = new Map()
    for (const key of this.pausedTopics) {
      const [topic, partition] = key.split('\u0000')
      if (partition === '*') continue
      if (!byTopic.has(topic)) byTopic.set(topic, [])
      byTopic.get(topic).push(Number(partition))
    }
    return [...byTopic.entries()].map(([topic, partitions]) => ({ topic, partitions }))
  }

  async describeGroup() {
    if (!this.admin) this.admin = call(native.createAdmin(this.settings))
    const admin = await this.admin
    const [group] = await call(admin.describeGroups([this.groupId]))
    return {
      groupId: group.groupId,
      state: group.state,
      protocol: group.protocol,
      protocolType: group.protocolType,
      errorCode: 0,
      members: group.members.map(m => ({
        memberId: m.memberId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        memberMetadata: Buffer.alloc(0),
        memberAssignment: Buffer.alloc(0),
      })),
    }
  }

  async stop() {
    this.running = false
    if (this.loop) await this.loop
    this.loop = null
    this.instrumentation.emit(CONSUMER_EVENTS.STOP)
  }

  async disconnect() {
    await this.stop()
    if (this.native) {
      const consumer = this.native
      this.native = null
      await call(consumer.close(30000))
    }
    this.instrumentation.emit(CONSUMER_EVENTS.DISCONNECT)
  }

  on(name, listener) {
    return this.instrumentation.on(name, listener)
  }

  logger() {
    return this.options.logger
  }
}

module.exports = { Consumer, CONSUMER_EVENTS }
