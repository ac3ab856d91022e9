'use strict'
// kafkajs's createAcls, describeAcls and deleteAcls against a broker with
// the authorizer on: PLAINTEXT is the operators' door (its anonymous
// principal is the super user) and alice logs in over SASL_PLAINTEXT.
const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const { execFileSync } = require('node:child_process')
const path = require('node:path')
const {
  Kafka,
  logLevel,
  AclResourceTypes,
  AclOperationTypes,
  AclPermissionTypes,
  ResourcePatternTypes,
  KafkaJSProtocolError,
} = require('..')
const { startBroker } = require('../testing')
const { unique, onKafka } = require('./helpers')

const STROM_CLI = path.join(__dirname, '..', 'bin', 'strom.js')
let broker

before(async () => {
  if (onKafka) return
  broker = await startBroker({
    settings: {
      listeners: 'PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0',
      'sasl.enabled.mechanisms': 'SCRAM-SHA-512',
      'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
      'super.users': 'User:ANONYMOUS',
    },
  })
  execFileSync(process.execPath, [STROM_CLI, 'user', 'create', 'alice', '--password', 'alice-secret', '--brokers', broker.listeners.PLAINTEXT])
})

after(async () => {
  if (broker) await broker.stop()
})

function operators() {
  return new Kafka({ brokers: [broker.listeners.PLAINTEXT], logLevel: logLevel.NOTHING })
}

function alice() {
  return new Kafka({
    brokers: [broker.listeners.SASL_PLAINTEXT],
    sasl: { mechanism: 'scram-sha-512', username: 'alice', password: 'alice-secret' },
    logLevel: logLevel.NOTHING,
    retry: { retries: 1 },
  })
}

async function send(kafka, topic) {
  const producer = kafka.producer()
  await producer.connect()
  try {
    await producer.send({ topic, messages: [{ value: 'x' }] })
  } finally {
    await producer.disconnect()
  }
}

async function refusedWith(promise, type) {
  await assert.rejects(promise, error => {
    const protocol = error instanceof KafkaJSProtocolError ? error : error.cause
    assert.ok(protocol instanceof KafkaJSProtocolError, `${error}`)
    assert.equal(protocol.type, type)
    return true
  })
}

test('ACLs made with createAcls let alice write, deny what they deny, and go with deleteAcls', { skip: onKafka }, async () => {
  const admin = operators().admin()
  await admin.connect()
  const prefix = unique('node-acl')
  const [orders, secret] = [`${prefix}-orders`, `${prefix}-secret`]
  await admin.createTopics({ topics: [{ topic: orders }, { topic: secret }] })
  const write = {
    resourceType: AclResourceTypes.TOPIC,
    resourceName: prefix,
    resourcePatternType: ResourcePatternTypes.PREFIXED,
    principal: 'User:alice',
    host: '*',
    operation: AclOperationTypes.WRITE,
    permissionType: AclPermissionTypes.ALLOW,
  }
  const deny = { ...write, resourceName: secret, resourcePatternType: ResourcePatternTypes.LITERAL, permissionType: AclPermissionTypes.DENY }
  assert.equal(await admin.createAcls({ acl: [write, deny] }), true)

  await send(alice(), orders)
  await refusedWith(send(alice(), secret), 'TOPIC_AUTHORIZATION_FAILED')

  const described = await admin.describeAcls({
    resourceType: AclResourceTypes.TOPIC,
    resourceName: orders,
    resourcePatternType: ResourcePatternTypes.MATCH,
    operation: AclOperationTypes.ANY,
    permissionType: AclPermissionTypes.ANY,
  })
  assert.deepEqual(described.resources, [
    {
      resourceType: AclResourceTypes.TOPIC,
      resourceName: prefix,
      resourcePatternType: ResourcePatternTypes.PREFIXED,
      acls: [{ principal: 'User:alice', host: '*', operation: AclOperationTypes.WRITE, permissionType: AclPermissionTypes.ALLOW }],
    },
  ])

  const alices = {
    resourceType: AclResourceTypes.ANY,
    resourcePatternType: ResourcePatternTypes.ANY,
    principal: 'User:alice',
    operation: AclOperationTypes.ANY,
    permissionType: AclPermissionTypes.ANY,
  }
  const { filterResponses } = await admin.deleteAcls({ filters: [alices] })
  assert.equal(filterResponses.length, 1)
  assert.deepEqual(filterResponses[0].matchingAcls.map(a => a.resourceName).sort(), [prefix, secret].sort())
  assert.deepEqual((await admin.describeAcls(alices)).resources, [])
  await refusedWith(send(alice(), orders), 'TOPIC_AUTHORIZATION_FAILED')
  await admin.disconnect()
})

test('a user who is not a super user cannot create or list ACLs', { skip: onKafka }, async () => {
  const admin = alice().admin()
  await admin.connect()
  const acl = {
    resourceType: AclResourceTypes.CLUSTER,
    resourceName: 'kafka-cluster',
    resourcePatternType: ResourcePatternTypes.LITERAL,
    principal: 'User:alice',
    host: '*',
    operation: AclOperationTypes.ALL,
    permissionType: AclPermissionTypes.ALLOW,
  }
  await refusedWith(admin.createAcls({ acl: [acl] }), 'CLUSTER_AUTHORIZATION_FAILED')
  await refusedWith(
    admin.describeAcls({ ...acl, resourceType: AclResourceTypes.ANY, resourcePatternType: ResourcePatternTypes.ANY, operation: AclOperationTypes.ANY }),
    'CLUSTER_AUTHORIZATION_FAILED'
  )
  await assert.rejects(admin.createAcls({ acl: [] }), /Empty ACL array/)
  await admin.disconnect()
})
