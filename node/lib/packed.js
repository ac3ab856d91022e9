'use strict'
// Records cross to and from the addon packed into one Buffer per send or
// poll; bindings/node/src/packed.rs describes the layout and is the other
// half. Integers are little-endian; `bytes?` is an i32 length (-1: null)
// and that many bytes.

// Per outgoing record: topic index, partition, timestamp, key length,
// value length, header count.
const OUT_FIXED = 4 + 4 + 8 + 4 + 4 + 4

function byteLength(value, what) {
  if (value === null || value === undefined) return 0
  if (Buffer.isBuffer(value)) return value.length
  if (typeof value === 'string') return Buffer.byteLength(value)
  throw new TypeError(`strom: a message ${what} must be a Buffer, a string or null`)
}

function writeBytes(out, view, at, value) {
  if (value === null || value === undefined) {
    view.setInt32(at, -1, true)
    return at + 4
  }
  if (typeof value === 'string') {
    const written = out.write(value, at + 4)
    view.setInt32(at, written, true)
    return at + 4 + written
  }
  view.setInt32(at, value.length, true)
  out.set(value, at + 4)
  return at + 4 + value.length
}

/** kafkajs's headers ({ key: value | value[] }) as [key, value] pairs. */
function headerPairs(headers) {
  const pairs = []
  if (!headers) return pairs
  for (const key of Object.keys(headers)) {
    const value = headers[key]
    if (Array.isArray(value)) for (const one of value) pairs.push([key, one])
    else pairs.push([key, value])
  }
  return pairs
}

// Shared by every message without headers (never written to).
const NO_PAIRS = Object.freeze([])

const optionalNumber = value => (value === undefined || value === null ? NaN : Number(value))

function checkMessage(message) {
  if (message === null || typeof message !== 'object') {
    throw new TypeError('strom: each message is an object { key, value, partition, headers, timestamp }')
  }
}

/**
 * kafkajs's topicMessages ([{ topic, messages }]) packed for the addon's
 * sendPacked: { topics, buffer, count }.
 */
function packMessages(topicMessages) {
  const topics = []
  let count = 0
  let size = 4
  for (const { topic, messages } of topicMessages) {
    if (!topics.includes(topic)) topics.push(topic)
    for (const message of messages) {
      checkMessage(message)
      count += 1
      size += OUT_FIXED + byteLength(message.key, 'key') + byteLength(message.value, 'value')
      if (message.headers) {
        for (const [key, value] of headerPairs(message.headers)) {
          size += 8 + Buffer.byteLength(key) + byteLength(value, 'header value')
        }
      }
    }
  }
  const out = Buffer.allocUnsafe(size)
  // A DataView writes fixed fields without Buffer's per-call range checks.
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength)
  view.setUint32(0, count, true)
  let at = 4
  for (const { topic, messages } of topicMessages) {
    const topicIndex = topics.indexOf(topic)
    for (const message of messages) {
      view.setUint32(at, topicIndex, true)
      const partition = optionalNumber(message.partition)
      view.setInt32(at + 4, Number.isInteger(partition) && partition >= 0 ? partition : -1, true)
      view.setFloat64(at + 8, optionalNumber(message.timestamp), true)
      at = writeBytes(out, view, at + 16, message.key)
      at = writeBytes(out, view, at, message.value)
      const pairs = message.headers ? headerPairs(message.headers) : NO_PAIRS
      view.setUint32(at, pairs.length, true)
      at += 4
      for (const [key, value] of pairs) {
        const written = out.write(key, at + 4)
        view.setUint32(at, written, true)
        at = writeBytes(out, view, at + 4 + written, value)
      }
    }
  }
  return { topics, buffer: out, count }
}

/**
 * A poll's packed records as kafkajs messages, grouped by partition in
 * the order first seen: [{ topic, partition, messages, offsets,
 * highWatermark }], where `offsets` are the messages' offsets as numbers
 * and `highWatermark` the partition's as its last fetch told (if known). Keys and values are
 * views into the poll's one Buffer, as kafkajs's are into the response.
 */
function unpackBatches({ topics, records: buffer, highWatermarks = [] }) {
  const batches = []
  const byPartition = new Map()
  let current = null
  // Records of one batch mostly share a timestamp: one string for them.
  let lastTimestamp = NaN
  let lastTimestampText = ''
  // A DataView reads fixed fields without Buffer's per-call range checks
  // (the loop's own bounds are the Buffer's length).
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength)
  let at = 0
  while (at < buffer.length) {
    const topic = topics[view.getUint32(at, true)]
    const partition = view.getInt32(at + 4, true)
    const offset = view.getFloat64(at + 8, true)
    const timestamp = view.getFloat64(at + 16, true)
    // Inline rather than a helper returning [bytes, next]: no array per field.
    let length = view.getInt32(at + 28, true)
    at += 32
    const key = length < 0 ? null : buffer.subarray(at, at + length)
    if (length > 0) at += length
    length = view.getInt32(at, true)
    at += 4
    const value = length < 0 ? null : buffer.subarray(at, at + length)
    if (length > 0) at += length
    const headerCount = view.getUint32(at, true)
    at += 4
    const headers = {}
    for (let h = 0; h < headerCount; h++) {
      const keyLength = view.getUint32(at, true)
      const name = buffer.toString('utf8', at + 4, at + 4 + keyLength)
      at += 4 + keyLength
      length = view.getInt32(at, true)
      at += 4
      const headerValue = length < 0 ? null : buffer.subarray(at, at + length)
      if (length > 0) at += length
      headers[name] = name in headers ? [].concat(headers[name], headerValue) : headerValue
    }
    if (current === null || current.partition !== partition || current.topic !== topic) {
      const tp = `${topic}\u0000${partition}`
      current = byPartition.get(tp)
      if (current === undefined) {
        current = { topic, partition, messages: [], offsets: [] }
        byPartition.set(tp, current)
        batches.push(current)
      }
    }
    if (timestamp !== lastTimestamp) {
      lastTimestamp = timestamp
      lastTimestampText = String(timestamp)
    }
    current.offsets.push(offset)
    current.messages.push({
      key,
      value,
      timestamp: lastTimestampText,
      attributes: 0,
      offset: String(offset),
      headers,
      size: 0,
    })
  }
  for (const { topic, partition, offset } of highWatermarks) {
    const batch = byPartition.get(`${topic}\u0000${partition}`)
    if (batch) batch.highWatermark = offset
  }
  return batches
}

module.exports = { packMessages, unpackBatches }
