// A long-running kafkajs consumer-group member (tests/compat/groups.py):
//
//   node group_member.js CONFIG_JSON
//
// CONFIG_JSON: {"bootstrap", "topic", "group", "client_id", "assignor" (null:
// kafkajs's default round robin, or "range"), "session_timeout_ms",
// "heartbeat_interval_ms", "rebalance_timeout_ms"}.
//
// Prints the same JSON lines as groups_member.py: "assignment" after every
// join (kafkajs rebalances eagerly and exposes no generation id, so it is
// null), "record" before the offset is committed, "committed",
// "commit_failed", "status" (stdin "status") and "closed" (stdin "close" or
// SIGTERM: disconnect, which sends LeaveGroup).
'use strict'

const readline = require('readline')
const { Kafka, logLevel, AssignerProtocol } = require('kafkajs')
const { registerCodecs } = require('./codecs')

const { MemberMetadata, MemberAssignment } = AssignerProtocol

// Writes to a pipe are synchronous on Linux, so a line printed before a
// SIGKILL is not lost.
const emit = event => process.stdout.write(JSON.stringify(event) + '\n')

// Kafka's RangeAssignor, under the protocol name the other clients use
// ("range"), so kafkajs can share a group with them: per topic, members
// sorted by member id take consecutive ranges, the first (partitions %
// members) of them one partition more.
function rangeAssigner ({ cluster }) {
  return {
    name: 'range',
    version: 0,
    async assign ({ members, topics }) {
      const subscribers = {}
      for (const { memberId, memberMetadata } of members) {
        for (const topic of MemberMetadata.decode(memberMetadata).topics) {
          ;(subscribers[topic] = subscribers[topic] || []).push(memberId)
        }
      }
      const assignment = {}
      for (const { memberId } of members) assignment[memberId] = {}
      for (const topic of topics) {
        const consumers = (subscribers[topic] || []).sort()
        if (consumers.length === 0) continue
        const partitions = cluster
          .findTopicPartitionMetadata(topic)
          .map(m => m.partitionId)
          .sort((a, b) => a - b)
        const perConsumer = Math.floor(partitions.length / consumers.length)
        const extra = partitions.length % consumers.length
        consumers.forEach((memberId, i) => {
          const start = i * perConsumer + Math.min(i, extra)
          const length = perConsumer + (i < extra ? 1 : 0)
          if (length > 0) assignment[memberId][topic] = partitions.slice(start, start + length)
        })
      }
      return Object.entries(assignment).map(([memberId, byTopic]) => ({
        memberId,
        memberAssignment: MemberAssignment.encode({ version: this.version, assignment: byTopic })
      }))
    },
    protocol ({ topics }) {
      return { name: this.name, metadata: MemberMetadata.encode({ version: this.version, topics }) }
    }
  }
}

async function run (config) {
  registerCodecs()
  const kafka = new Kafka({ clientId: config.client_id, brokers: [config.bootstrap], logLevel: logLevel.ERROR })
  const options = {
    groupId: config.group,
    sessionTimeout: config.session_timeout_ms,
    heartbeatInterval: config.heartbeat_interval_ms,
    rebalanceTimeout: config.rebalance_timeout_ms,
    // Heartbeats (and so rebalance notices) go out between fetches.
    maxWaitTimeInMs: 200
  }
  if (config.assignor === 'range') options.partitionAssigners = [rangeAssigner]
  else if (config.assignor) throw new Error(`no kafkajs assignor named ${config.assignor} here`)
  const consumer = kafka.consumer(options)
  let owned = []
  let memberId = null
  const status = () => ({ partitions: owned, generation: null, member_id: memberId })
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    owned = (payload.memberAssignment[config.topic] || []).slice().sort((a, b) => a - b)
    memberId = payload.memberId
    emit({ event: 'assignment', ...status() })
  })
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    emit({ event: 'consume_error', message: String(payload.error) })
  })

  let closing = null
  const close = () => {
    if (!closing) {
      closing = consumer.disconnect().then(() => {
        emit({ event: 'closed' })
        process.exit(0)
      })
    }
    return closing
  }
  process.on('SIGTERM', close)
  const commands = readline.createInterface({ input: process.stdin })
  commands.on('line', line => {
    const command = line.trim()
    if (command === 'status') emit({ event: 'status', ...status() })
    else if (command === 'close') close()
  })
  commands.on('close', close)

  await consumer.connect()
  await consumer.subscribe({ topic: config.topic, fromBeginning: true })
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch, resolveOffset, isRunning, isStale }) => {
      let next = null
      for (const message of batch.messages) {
        if (!isRunning() || isStale()) break
        emit({
          event: 'record',
          partition: batch.partition,
          offset: Number(message.offset),
          key: message.key == null ? null : message.key.toString('utf8')
        })
        resolveOffset(message.offset)
        next = (BigInt(message.offset) + 1n).toString()
      }
      if (next === null) return
      try {
        await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: next }])
        emit({ event: 'committed', offsets: { [batch.partition]: Number(next) } })
      } catch (err) {
        // A rebalance got in the way; the partition's next owner re-reads.
        emit({ event: 'commit_failed', message: String(err) })
      }
    }
  })
}

run(JSON.parse(process.argv[2])).catch(err => {
  console.error(err && err.stack ? err.stack : err)
  process.exit(1)
})
