'use strict'
// kafkajs's consumer on the native one: `run` polls the core and calls
// eachMessage / eachBatch, commits what the handlers resolved, and
// reports through kafkajs's instrumentation events. Joining, fetching,
// heartbeats and offsets live in the core (strom-client).
const { native } = require('./native')
const { call, callRetried, KafkaJSNonRetriableError } = require('./errors')
const { Instrumentation, statistics } = require('./events')
const { unpackBatches } = require('./packed')

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
  // Strom's: librdkafka's statistics every `statisticsInterval` ms.
  STATS: 'consumer.stats',
})

// How long one native poll waits: short, so stop() and pause() act soon.
const POLL_SLICE_MS = 200
// The one assigner there is (kafkajs's default), by the core's name for it.
const ROUND_ROBIN = 'roundrobin'
const PartitionAssigners = Object.freeze({ roundRobin: ROUND_ROBIN })
const MAX_POLL_RECORDS = 5000

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))
const tpKey = (topic, partition) => `${topic}\u0000${partition}`

/** A RegExp as a whole-name pattern (the core's syntax, librdkafka's `^` prefix). */
function patternOf(regex) {
  const flags = regex.flags.includes('i') ? '(?i)' : ''
  return `^${flags}.*(?:${regex.source}).*`
}

/** kafkajs's Offsets ({ topics: [{ topic, partitions: [{ partition, offset }] }] }) as a flat list. */
function flattenOffsets(offsets) {
  if (Array.isArray(offsets)) return offsets
  return (offsets.topics || []).flatMap(({ topic, partitions }) =>
    partitions.map(({ partition, offset }) => ({ topic, partition, offset }))
  )
}

/** kafkajs's Batch: the messages of one partition from one poll. */
class Batch {
  constructor({ topic, partition, messages, offsets, highWatermark }) {
    this.topic = topic
    this.partition = partition
    // As the partition's last fetch told it; never below the offset after
    // this batch's last message.
    this.highWatermark = String(Math.max(highWatermark ?? 0, offsets[offsets.length - 1] + 1))
    this.messages = messages
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
    const assigners = options.partitionAssigners || [ROUND_ROBIN]
    if (!Array.isArray(assigners) || assigners.some(assigner => assigner !== ROUND_ROBIN)) {
      // A custom assigner silently replaced by round-robin would split
      // partitions in a way its author did not write.
      throw new KafkaJSNonRetriableError('strom: only PartitionAssigners.roundRobin is supported; custom assigners are not yet')
    }
    this.options = options
    this.settings = settings
    this.groupId = options.groupId
    this.native = null
    this.subscriptions = []
    this.resets = [] // { entries, reset } per subscribe call, for the native consumer
    this.running = false
    this.loop = null
    this.pausedTopics = new Set()
    this.resolved = new Map() // tpKey -> { topic, partition, offset } to commit
    this.lastCommit = Date.now()
    this.uncommittedCount = 0
    this.moves = 0 // seeks so far: a poll issued before one may bring messages from before it
    this.movedAt = new Map() // tpKey -> { move, offset }: each partition's latest seek
    this.pendingCommit = null // the queued automatic commit: settles with its failure or null
    this.membership = { memberId: null, generationId: null }
    this.joinReported = null
    this.joinSeen = null
    this.admin = null
    this.events = CONSUMER_EVENTS
    this.instrumentation = new Instrumentation(CONSUMER_EVENTS)
    this.statistics = statistics(options, this.instrumentation, CONSUMER_EVENTS.STATS)
    const quiet = () => {}
    this.log = options.logger ? options.logger.namespace('Consumer') : { error: quiet, info: quiet }
  }

  nativeSettings() {
    const o = this.options
    const settings = [
      ...this.settings,
      ['group.id', this.groupId],
      ['enable.auto.commit', 'false'],
      ['auto.offset.reset', 'latest'],
      ['partition.assignment.strategy', 'roundrobin'],
      // kafkajs's default: subscribing creates missing topics, where the broker creates topics.
      ['allow.auto.create.topics', String(o.allowAutoTopicCreation !== false)],
      ['max.poll.records', String(MAX_POLL_RECORDS)],
      ...this.statistics.settings,
    ]
    const optional = [
      ['session.timeout.ms', o.sessionTimeout],
      ['max.poll.interval.ms', o.rebalanceTimeout],
      ['heartbeat.interval.ms', o.heartbeatInterval],
      ['max.partition.fetch.bytes', o.maxBytesPerPartition],
      ['fetch.min.bytes', o.minBytes],
      ['fetch.max.bytes', o.maxBytes],
      ['fetch.max.wait.ms', o.maxWaitTimeInMs],
    ]
    for (const [name, value] of optional) {
      if (value !== undefined) settings.push([name, String(value)])
    }
    if (o.readUncommitted) settings.push(['isolation.level', 'read_uncommitted'])
    return settings
  }

  /** Connects to the cluster (the native consumer); the group is joined by run(). */
  async connect() {
    await this.connectNative()
    this.instrumentation.emit(CONSUMER_EVENTS.CONNECT)
  }

  /** The native consumer, made on first use. */
  async connectNative() {
    if (!this.native) {
      const created = native.createConsumer(this.nativeSettings(), this.options.tokenCallback, this.statistics.listener)
      this.native = await callRetried(created, this.options.retries)
    }
    return this.native
  }

  async subscribe({ topic, topics, fromBeginning = false } = {}) {
    if (this.running) throw new KafkaJSNonRetriableError('Cannot subscribe to topic while consumer is running')
    const list = topics || (topic !== undefined ? [topic] : [])
    if (list.length === 0) throw new KafkaJSNonRetriableError('Missing required argument "topics"')
    const entries = list.map(t => {
      if (t instanceof RegExp) return patternOf(t)
      if (typeof t === 'string' && t.length > 0) return t
      throw new KafkaJSNonRetriableError(`Invalid topic ${t}`)
    })
    this.subscriptions.push(...entries)
    // fromBeginning is per subscribe call, as in kafkajs: the core's
    // per-topic offset reset.
    this.resets.push({ entries, reset: fromBeginning ? 'earliest' : 'latest' })
  }

  /** Creates the native consumer if needed and subscribes it. */
  async startNative() {
    await this.connectNative()
    await call(this.native.subscribe(this.subscriptions))
    for (const { entries, reset } of this.resets) await call(this.native.setOffsetReset(entries, reset))
    this.resets = []
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
    await this.startNative()
    this.running = true
    this.loop = this.consume().catch(error => {
      this.running = false
      this.log.error(`Crash: ${error.name}: ${error.message}`, { groupId: this.groupId, retryCount: 0, stack: error.stack })
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
    await this.startNative()
    this.running = true
    // A poll's batches not yet finished: the first is the one the loop has.
    let unfinished = []
    try {
      while (this.running) {
        const started = Date.now()
        const polled = await call(this.native.pollPacked(MAX_POLL_RECORDS, POLL_SLICE_MS))
        await this.noticeMembership(polled, started)
        unfinished = unpackBatches(polled)
        while (unfinished.length > 0) {
          const group = unfinished[0]
          yield new Batch(group)
          unfinished.shift()
          this.resolve(group.topic, group.partition, group.offsets[group.offsets.length - 1], group.offsets.length)
        }
        if (this.config.autoCommit) await this.commitIfDue(false)
      }
    } finally {
      this.running = false
      // Leaving the loop: what it did not finish is read again next time.
      if (this.native) await this.giveBack(unfinished)
      if (this.config.autoCommit && this.native) await this.commitIfDue(true)
    }
  }

  /**
   * The run loop. While one poll's messages are handled, the next poll is
   * already on its way (issued when the last one brought messages), so
   * the core fetches and decodes while JS works. Messages that poll
   * brought for a partition moved since it was issued (a seek, a handler
   * failure, a partial batch) are not handed out: the partition is put
   * back where it was moved to. Stopping gives back what the last poll
   * brought unhandled.
   */
  async consume() {
    let failures = 0
    let ahead = null
    try {
      while (this.running) {
        this.instrumentation.emit(CONSUMER_EVENTS.FETCH_START, {})
        const started = Date.now()
        const poll = ahead || this.pollAhead()
        ahead = null
        const polled = await poll.records
        if (!this.running) {
          await this.giveBack(unpackBatches(polled))
          break
        }
        await this.noticeMembership(polled, started)
        const batches = polled.count > 0 ? await this.dropMoved(poll.issuedAt, unpackBatches(polled)) : []
        if (polled.count > 0) ahead = this.pollAhead()
        this.instrumentation.emit(CONSUMER_EVENTS.FETCH, {
          numberOfBatches: batches.length,
          duration: Date.now() - started,
        })
        const failed = await this.process(batches)
        failures = failed ? failures + 1 : 0
        if (failed) await sleep(Math.min(30000, 300 * 2 ** Math.min(failures, 7)))
        if (this.config.autoCommit) await this.commitIfDue(false)
        this.instrumentation.emit(CONSUMER_EVENTS.HEARTBEAT, {
          groupId: this.groupId,
          memberId: this.membership.memberId,
          groupGenerationId: this.membership.generationId,
        })
      }
    } finally {
      if (ahead) await this.giveBack(unpackBatches(await ahead.records.catch(() => ({ topics: [], records: Buffer.alloc(0) }))))
    }
    if (this.config.autoCommit) await this.commitIfDue(true)
  }

  /** A poll issued now, and the count of moves it was issued after. */
  pollAhead() {
    return { issuedAt: this.moves, records: call(this.native.pollPacked(MAX_POLL_RECORDS, POLL_SLICE_MS)) }
  }

  /** Moves a partition's next fetch to `offset`, noting it for polls issued before. */
  moveTo(topic, partition, offset) {
    this.moves += 1
    this.movedAt.set(tpKey(topic, partition), { move: this.moves, offset })
    return call(this.ensureNative().seek(topic, Number(partition), offset))
  }

  /** The batches of a poll issued after `issuedAt` moves, less those of partitions moved since. */
  async dropMoved(issuedAt, batches) {
    if (this.moves === issuedAt) return batches
    const kept = []
    for (const batch of batches) {
      const moved = this.movedAt.get(tpKey(batch.topic, batch.partition))
      if (moved && moved.move > issuedAt) {
        await this.moveTo(batch.topic, batch.partition, moved.offset)
      } else {
        kept.push(batch)
      }
    }
    return kept
  }

  /** Puts the partitions of batches not handed out back at their first offsets. */
  async giveBack(batches) {
    for (const batch of batches) {
      await this.moveTo(batch.topic, batch.partition, batch.offsets[0]).catch(() => {})
    }
  }

  /**
   * GROUP_JOIN once per generation and assignment. A poll can return
   * between the join and the sync (the generation is new, the partitions
   * not there yet), so an empty assignment is reported only when the next
   * poll still shows it.
   */
  async noticeMembership(polled, started) {
    // A rebalance took this member's partitions away (revoked, or lost
    // with the membership): kafkajs's REBALANCING.
    for (const { event, partitions } of polled.rebalances || []) {
      if (event !== 'assigned' && partitions.length > 0) {
        this.instrumentation.emit(CONSUMER_EVENTS.REBALANCING, { groupId: this.groupId, memberId: this.membership.memberId })
      }
    }
    // The addon gives undefined until the member joined.
    if (polled.generationId == null) return
    // Reported already for this generation: nothing to look up.
    if (this.joinReported !== null && this.joinReported.startsWith(`${polled.generationId}|`)) return
    const now = { memberId: polled.memberId, generationId: polled.generationId }
    const assignment = await call(this.native.assignment())
    const key = `${now.generationId}|${assignment.map(a => tpKey(a.topic, a.partition)).sort().join(',')}`
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
    // The same facts go to the log and the event, as in kafkajs.
    const joined = {
      duration: Date.now() - started,
      groupId: this.groupId,
      isLeader: polled.leaderId != null && polled.leaderId === now.memberId,
      leaderId: polled.leaderId ?? null,
      groupProtocol: 'RoundRobinAssigner',
      memberId: now.memberId,
      memberAssignment,
    }
    this.log.info('Consumer has joined the group', joined)
    this.instrumentation.emit(CONSUMER_EVENTS.GROUP_JOIN, joined)
  }

  /** Hands the records to the handlers, partition by partition; true if one failed. */
  async process(batches) {
    const queue = batches.slice()
    let failed = false
    const worker = async () => {
      while (queue.length > 0 && this.running) {
        const batch = queue.shift()
        if (!(await this.processBatch(batch))) failed = true
      }
    }
    const workers = Math.max(1, Math.min(this.config.partitionsConsumedConcurrently, queue.length))
    await Promise.all(Array.from({ length: workers }, worker))
    // Stopped before these were handed out: they are read again after a restart.
    await this.giveBack(queue)
    return failed
  }

  /** Marks `offset` (and `count` messages up to it) processed: the next commit stores offset + 1. */
  resolve(topic, partition, offset, count = 1) {
    this.resolved.set(tpKey(topic, partition), { topic, partition, offset: String(Number(offset) + 1) })
    this.uncommittedCount += count
  }

  isPaused(topic, partition) {
    return this.pausedTopics.has(tpKey(topic, partition)) || this.pausedTopics.has(tpKey(topic, '*'))
  }

  /** Runs the handler over one partition's messages; false when it threw. */
  async processBatch(group) {
    const { topic, partition, offsets } = group
    if (this.isPaused(topic, partition)) {
      // Paused after its poll was issued: read again once resumed.
      await this.moveTo(topic, partition, offsets[0])
      return true
    }
    const pause = () => {
      this.pause([{ topic, partitions: [partition] }])
      return () => this.resume([{ topic, partitions: [partition] }])
    }
    const heartbeat = async () => {}
    const batch = new Batch(group)
    // A seek of this partition meanwhile (from a handler, or from outside)
    // ends the batch, as in kafkajs: the next message read is the one sought.
    const key = tpKey(topic, partition)
    const movesAtStart = this.moves
    const isStale = () => (this.movedAt.get(key)?.move ?? 0) > movesAtStart
    const payload = { topic, partition, highWatermark: batch.highWatermark, offsetLag: batch.offsetLag(), offsetLagLow: batch.offsetLagLow(), batchSize: offsets.length, firstOffset: batch.firstOffset(), lastOffset: batch.lastOffset() }
    this.instrumentation.emit(CONSUMER_EVENTS.START_BATCH_PROCESS, payload)
    const started = Date.now()
    let next = offsets[0]
    try {
      if (this.config.eachMessage) {
        // Offsets are resolved once for the messages handled, in `finally`:
        // a commit can only come after this batch.
        let handled = 0
        try {
          for (let i = 0; i < offsets.length; i++) {
            if (!this.running || this.isPaused(topic, partition) || isStale()) break
            next = offsets[i]
            await this.config.eachMessage({ topic, partition, message: batch.messages[i], heartbeat, pause })
            next = offsets[i] + 1
            handled += 1
          }
        } finally {
          if (handled > 0 && !isStale()) this.resolve(topic, partition, next - 1, handled)
        }
      } else {
        const resolveOffset = offset => {
          if (isStale()) return
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
          isStale,
        })
        if (this.config.eachBatchAutoResolve && this.running && !this.isPaused(topic, partition)) {
          resolveOffset(batch.lastOffset())
        }
      }
    } catch (error) {
      // The failed message is read again: as kafkajs does, after a backoff.
      if (!isStale()) await this.moveTo(topic, partition, next)
      this.log.error(`Error when calling ${this.config.eachMessage ? 'eachMessage' : 'eachBatch'}`, {
        topic,
        partition,
        offset: String(next),
        stack: error && error.stack,
        error: error && error.message,
      })
      this.instrumentation.emit(CONSUMER_EVENTS.CRASH, { error, groupId: this.groupId, restart: true })
      return false
    } finally {
      this.instrumentation.emit(CONSUMER_EVENTS.END_BATCH_PROCESS, { ...payload, duration: Date.now() - started })
    }
    if (next <= offsets[offsets.length - 1] && !isStale()) {
      // Stopped part way (pause, stop, or eachBatch resolved less): the rest is read again.
      await this.moveTo(topic, partition, next)
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

  /**
   * The automatic commit after a poll's messages were handled: queued
   * (the next poll does not wait for the coordinator), its answer awaited
   * at the next one, so a failure still surfaces; a forced one (stop,
   * disconnect) waits.
   */
  async commitIfDue(force) {
    const previous = this.pendingCommit
    this.pendingCommit = null
    if (previous) {
      const failure = await previous
      if (failure) throw failure
    }
    if (this.resolved.size === 0) return
    const { autoCommitInterval, autoCommitThreshold } = this.config
    const byTime = autoCommitInterval !== null && Date.now() - this.lastCommit >= autoCommitInterval
    const byCount = autoCommitThreshold !== null && this.uncommittedCount >= autoCommitThreshold
    const eachRound = autoCommitInterval === null && autoCommitThreshold === null
    if (force) {
      await this.commitOffsets([...this.resolved.values()])
    } else if (eachRound || byTime || byCount) {
      const list = this.committing([...this.resolved.values()])
      // Settles with the failure (or null), so no rejection goes unhandled meanwhile.
      this.pendingCommit = call(this.ensureNative().commitAsync(list)).then(
        () => this.committed(list),
        error => {
          for (const offset of list) {
            const key = tpKey(offset.topic, offset.partition)
            if (!this.resolved.has(key)) this.resolved.set(key, { ...offset, offset: String(offset.offset) })
          }
          return error
        }
      )
    }
  }

  async commitOffsets(offsets) {
    const list = this.committing(offsets)
    if (list.length === 0) return
    await call(this.ensureNative().commit(list))
    this.committed(list)
  }

  /** kafkajs offsets as the addon's, taken off the offsets waiting for a commit. */
  committing(offsets) {
    const list = offsets.map(({ topic, partition, offset }) => ({
      topic,
      partition: Number(partition),
      offset: Number(offset),
    }))
    for (const { topic, partition, offset } of list) {
      const key = tpKey(topic, partition)
      const pending = this.resolved.get(key)
      if (pending && Number(pending.offset) <= offset) this.resolved.delete(key)
    }
    this.uncommittedCount = 0
    this.lastCommit = Date.now()
    return list
  }

  /** COMMIT_OFFSETS for a commit the coordinator took; null (no failure). */
  committed(list) {
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
    return null
  }

  ensureNative() {
    if (!this.native) throw new KafkaJSNonRetriableError('The consumer is not running: call run() first')
    return this.native
  }

  seek({ topic, partition, offset }) {
    const target = Number(offset)
    if (!Number.isInteger(target)) throw new KafkaJSNonRetriableError(`Invalid offset ${offset}`)
    // kafkajs commits the offset sought (with autoCommit): here the next
    // automatic commit stores it.
    if (this.config && this.config.autoCommit) {
      this.resolved.set(tpKey(topic, partition), { topic, partition: Number(partition), offset: String(target) })
    } else {
      this.resolved.delete(tpKey(topic, partition))
    }
    return this.moveTo(topic, partition, target)
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
    if (!this.admin) this.admin = call(native.createAdmin(this.settings, this.options.tokenCallback))
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

module.exports = { Consumer, CONSUMER_EVENTS, PartitionAssigners }
