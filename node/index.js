'use strict'
// strom: a kafkajs-compatible Kafka client on Strom's Rust client core.
// `const { Kafka } = require('strom')` where kafkajs code had
// `require('kafkajs')`.
const kafka = require('./lib/kafka')
const errors = require('./lib/errors')
const { PRODUCER_EVENTS, Partitioners } = require('./lib/producer')
const { CONSUMER_EVENTS, PartitionAssigners } = require('./lib/consumer')

const { fromNative, errorOf, call, callRetried, ...errorClasses } = errors

module.exports = {
  ...kafka,
  ...errorClasses,
  AclResourceTypes: kafka.ResourceTypes,
  Partitioners,
  isKafkaJSError: error => error instanceof errors.KafkaJSError,
  errors: errorClasses,
  PartitionAssigners,
  events: { producer: PRODUCER_EVENTS, consumer: CONSUMER_EVENTS },
}
