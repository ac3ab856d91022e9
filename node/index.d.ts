/// <reference types="node" />
// Type declarations of the `strom` package: a kafkajs-compatible client.
//
// The names and shapes follow kafkajs 2.2.4's own declarations, so code
// written against `kafkajs` type-checks against `strom` where it uses what
// strom implements. Only what index.js exports and implements is declared:
// options strom does not act on (SASL, SSL, partitioners, transactions, ...)
// are left out, so the compiler points at them. test/types.test.js checks
// that every runtime export is declared here and every declared value
// exists.

// ---------------------------------------------------------------------------
// Constants

/** Log levels, as kafkajs's `logLevel`. */
export const logLevel: {
  readonly NOTHING: 0
  readonly ERROR: 1
  readonly WARN: 2
  readonly INFO: 4
  readonly DEBUG: 5
}
export type logLevel = (typeof logLevel)[keyof typeof logLevel]

/** Codecs for `send({ compression })`. */
export const CompressionTypes: {
  readonly None: 0
  readonly GZIP: 1
  readonly Snappy: 2
  readonly LZ4: 3
  readonly ZSTD: 4
}
export type CompressionTypes = (typeof CompressionTypes)[keyof typeof CompressionTypes]

/** ACL resource types (kafkajs 2 calls these `AclResourceTypes`). */
export const ResourceTypes: {
  readonly UNKNOWN: 0
  readonly ANY: 1
  readonly TOPIC: 2
  readonly GROUP: 3
  readonly CLUSTER: 4
  readonly TRANSACTIONAL_ID: 5
  readonly DELEGATION_TOKEN: 6
}
export type ResourceTypes = (typeof ResourceTypes)[keyof typeof ResourceTypes]

/** kafkajs 2's name for ResourceTypes (the same object). */
export const AclResourceTypes: typeof ResourceTypes
export type AclResourceTypes = ResourceTypes

export const AclOperationTypes: {
  readonly UNKNOWN: 0
  readonly ANY: 1
  readonly ALL: 2
  readonly READ: 3
  readonly WRITE: 4
  readonly CREATE: 5
  readonly DELETE: 6
  readonly ALTER: 7
  readonly DESCRIBE: 8
  readonly CLUSTER_ACTION: 9
  readonly DESCRIBE_CONFIGS: 10
  readonly ALTER_CONFIGS: 11
  readonly IDEMPOTENT_WRITE: 12
}
export type AclOperationTypes = (typeof AclOperationTypes)[keyof typeof AclOperationTypes]

export const AclPermissionTypes: {
  readonly UNKNOWN: 0
  readonly ANY: 1
  readonly DENY: 2
  readonly ALLOW: 3
}
export type AclPermissionTypes = (typeof AclPermissionTypes)[keyof typeof AclPermissionTypes]

export const ResourcePatternTypes: {
  readonly UNKNOWN: 0
  readonly ANY: 1
  readonly MATCH: 2
  readonly LITERAL: 3
  readonly PREFIXED: 4
}
export type ResourcePatternTypes = (typeof ResourcePatternTypes)[keyof typeof ResourcePatternTypes]

/** One ACL: who (principal, from host) may or may not do what to which resources. */
export interface AclEntry {
  principal: string
  host: string
  operation: AclOperationTypes
  permissionType: AclPermissionTypes
}

export interface ResourceAcls {
  resourceType: AclResourceTypes
  resourceName: string
  resourcePatternType: ResourcePatternTypes
}

export type AclFilter = {
  resourceType: AclResourceTypes
  resourceName?: string
  resourcePatternType: ResourcePatternTypes
  principal?: string
  host?: string
  operation: AclOperationTypes
  permissionType: AclPermissionTypes
}

export interface DescribeAclResponse {
  resources: Array<ResourceAcls & { acls: AclEntry[] }>
}

export interface DeleteAclResponse {
  filterResponses: Array<{
    errorCode: number
    errorMessage: string | null
    matchingAcls: Array<ResourceAcls & AclEntry & { errorCode: number; errorMessage: string | null }>
  }>
}

/** A kafkajs partitioner factory, for ProducerConfig.createPartitioner. */
export type ICustomPartitioner = () => (args: unknown) => number

/**
 * kafkajs's partitioners. Keyed messages go where Java's murmur2 puts
 * them, which is kafkajs's DefaultPartitioner (JavaCompatiblePartitioner);
 * a producer given the LegacyPartitioner or another one is refused.
 */
export const Partitioners: {
  readonly DefaultPartitioner: ICustomPartitioner
  readonly JavaCompatiblePartitioner: ICustomPartitioner
  readonly LegacyPartitioner: ICustomPartitioner
}

/** Whether `error` is one of the KafkaJS* errors. */
export function isKafkaJSError(error: unknown): error is KafkaJSError

/** Resource types of describeConfigs / alterConfigs (strom serves TOPIC and BROKER). */
export const ConfigResourceTypes: {
  readonly UNKNOWN: 0
  readonly TOPIC: 2
  readonly BROKER: 4
  readonly BROKER_LOGGER: 8
}
export type ConfigResourceTypes = (typeof ConfigResourceTypes)[keyof typeof ConfigResourceTypes]

/** Where a config value described by describeConfigs comes from. */
export const ConfigSource: {
  readonly UNKNOWN: 0
  readonly TOPIC_CONFIG: 1
  readonly DYNAMIC_BROKER_CONFIG: 2
  readonly DYNAMIC_DEFAULT_BROKER_CONFIG: 3
  readonly STATIC_BROKER_CONFIG: 4
  readonly DEFAULT_CONFIG: 5
  readonly DYNAMIC_BROKER_LOGGER_CONFIG: 6
}
export type ConfigSource = (typeof ConfigSource)[keyof typeof ConfigSource]

/** The partition assigners a consumer can use: round robin, the only one. */
export const PartitionAssigners: {
  readonly roundRobin: 'roundrobin'
}
export type PartitionAssigner = (typeof PartitionAssigners)[keyof typeof PartitionAssigners]

/** The instrumentation event names of producers and consumers. */
export const events: {
  readonly producer: ProducerEvents
  readonly consumer: ConsumerEvents
}

// ---------------------------------------------------------------------------
// Logging

export interface LoggerEntryContent {
  /** ISO 8601, when the entry was made. */
  readonly timestamp: string
  /** Always `strom`. */
  readonly logger: string
  readonly message: string
  [key: string]: any
}

export interface LogEntry {
  namespace: string
  level: logLevel
  label: string
  log: LoggerEntryContent
}

export type logCreator = (logLevel: logLevel) => (entry: LogEntry) => void

export type Logger = {
  info: (message: string, extra?: object) => void
  error: (message: string, extra?: object) => void
  warn: (message: string, extra?: object) => void
  debug: (message: string, extra?: object) => void
  namespace: (namespace: string, logLevel?: logLevel) => Logger
  setLogLevel: (logLevel: logLevel) => void
}

// ---------------------------------------------------------------------------
// Kafka

export interface RetryOptions {
  /** Longest backoff between retries, ms (default 30000). */
  maxRetryTime?: number
  /** First backoff, ms, doubling per retry (default 300). */
  initialRetryTime?: number
  /** Retries before a request fails (default 5). */
  retries?: number
}

/** TLS as kafkajs takes it: the broker's CA, and the client's certificate and key for mutual TLS (PEM). */
export interface SSLOptions {
  ca?: string | Buffer | Array<string | Buffer>
  cert?: string | Buffer
  key?: string | Buffer
  /** The password of an encrypted PKCS#8 `key`. */
  passphrase?: string
}

/** A SASL login with a password: PLAIN or SCRAM, checked against the broker's users. */
export interface PasswordSASLOptions {
  mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'
  username: string
  password: string
}

/** An OAuth bearer token as kafkajs's provider hands it. */
export interface OauthbearerProviderResponse {
  value: string
}

/** A SASL login with a signed token (OAUTHBEARER), asked of the provider at every login. */
export interface OauthbearerSASLOptions {
  mechanism: 'oauthbearer'
  oauthBearerProvider: () => Promise<OauthbearerProviderResponse>
}

export type SASLOptions = PasswordSASLOptions | OauthbearerSASLOptions

export interface KafkaConfig {
  /** Bootstrap brokers, "host:port" (a function is not supported). */
  brokers: string[]
  clientId?: string
  /** TLS: true (the system's CAs) or the CA and client certificate. */
  ssl?: boolean | SSLOptions
  sasl?: SASLOptions
  connectionTimeout?: number
  requestTimeout?: number
  retry?: RetryOptions
  logLevel?: logLevel
  logCreator?: logCreator
}

export class Kafka {
  constructor(config: KafkaConfig)
  producer(config?: ProducerConfig): Producer
  consumer(config: ConsumerConfig): Consumer
  admin(config?: AdminConfig): Admin
  logger(): Logger
}

// ---------------------------------------------------------------------------
// Instrumentation events

export interface InstrumentationEvent<T> {
  id: number
  type: string
  timestamp: number
  payload: T
}

export type RemoveInstrumentationEventListener<T> = () => void

type ValueOf<T> = T[keyof T]

export type ConnectEvent = InstrumentationEvent<{}>
export type DisconnectEvent = InstrumentationEvent<{}>

// ---------------------------------------------------------------------------
// Producer

export interface ProducerConfig {
  /** Idempotent writes (with acks -1). */
  idempotent?: boolean
  maxInFlightRequests?: number
  /** Partitioners.DefaultPartitioner (or JavaCompatiblePartitioner) only. */
  createPartitioner?: ICustomPartitioner
  /** Strom's: emit `producer.stats` (librdkafka's statistics) this often, in ms; 0 or unset: never. */
  statisticsInterval?: number
}

/** A header value: a Buffer, a string, null, or several of them. */
export interface IHeaders {
  [key: string]: Buffer | string | null | undefined | (Buffer | string | null)[]
}

/** A message to send. */
export interface Message {
  key?: Buffer | string | null
  value: Buffer | string | null
  partition?: number
  headers?: IHeaders
  /** Milliseconds since the epoch, as a string (or a number). */
  timestamp?: string | number
}

export interface ProducerRecord {
  topic: string
  messages: Message[]
  /** -1 (all, default), 0 or 1. */
  acks?: number
  /** How long the broker may take to answer, in ms (default 30000). */
  timeout?: number
  compression?: CompressionTypes
}

export interface TopicMessages {
  topic: string
  messages: Message[]
}

export interface ProducerBatch {
  acks?: number
  timeout?: number
  compression?: CompressionTypes
  topicMessages?: TopicMessages[]
}

/** One entry per partition written: `baseOffset` is the first offset written there. */
export type RecordMetadata = {
  topicName: string
  partition: number
  errorCode: number
  baseOffset: string
  logAppendTime: string
  logStartOffset: string
}

export interface ProducerEvents {
  readonly CONNECT: 'producer.connect'
  readonly DISCONNECT: 'producer.disconnect'
  readonly REQUEST: 'producer.network.request'
  readonly REQUEST_TIMEOUT: 'producer.network.request_timeout'
  readonly REQUEST_QUEUE_SIZE: 'producer.network.request_queue_size'
  /** Strom's: librdkafka's statistics object, every `statisticsInterval` ms. */
  readonly STATS: 'producer.stats'
}

export type Producer = {
  connect(): Promise<void>
  disconnect(): Promise<void>
  send(record: ProducerRecord): Promise<RecordMetadata[]>
  sendBatch(batch: ProducerBatch): Promise<RecordMetadata[]>
  isIdempotent(): boolean
  /** Transactions are not supported: this throws a KafkaJSNonRetriableError. */
  transaction(): never
  logger(): Logger
  readonly events: ProducerEvents
  on(
    eventName: ProducerEvents['CONNECT'],
    listener: (event: ConnectEvent) => void
  ): RemoveInstrumentationEventListener<typeof eventName>
  on(
    eventName: ProducerEvents['DISCONNECT'],
    listener: (event: DisconnectEvent) => void
  ): RemoveInstrumentationEventListener<typeof eventName>
  on(
    eventName: ProducerEvents['STATS'],
    listener: (event: StatsEvent) => void
  ): RemoveInstrumentationEventListener<typeof eventName>
  on(
    eventName: ValueOf<ProducerEvents>,
    listener: (event: InstrumentationEvent<any>) => void
  ): RemoveInstrumentationEventListener<typeof eventName>
}

/**
 * librdkafka's statistics JSON, parsed (see its STATISTICS.md): totals,
 * `brokers` (with `rtt`), `topics` with per-partition counts, and for a
 * group member `cgrp`. Fields Strom cannot fill are left out.
 */
export type StatsEvent = InstrumentationEvent<{
  name: string
  client_id: string
  type: 'producer' | 'consumer'
  ts: number
  time: number
  txmsgs: number
  rxmsgs: number
  brokers: Record<string, any>
  topics: Record<string, any>
  cgrp?: Record<string, any>
  [field: string]: any
}>

// ---------------------------------------------------------------------------
// Consumer

export interface ConsumerConfig {
  groupId: string
  /** Accepted for kafkajs code; round robin is the only assignment. */
  partitionAssigners?: PartitionAssigner[]
  sessionTimeout?: number
  rebalanceTimeout?: number
  heartbeatInterval?: number
  maxBytesPerPartition?: number
  minBytes?: number
  maxBytes?: number
  maxWaitTimeInMs?: number
  allowAutoTopicCreation?: boolean
  readUncommitted?: boolean
  /** Strom's: emit `consumer.stats` (librdkafka's statistics) this often, in ms; 0 or unset: never. */
  statisticsInterval?: number
}

/** Headers of a consumed message: Buffers, null for a header without a value. */
export interface KafkaMessageHeaders {
  [key: string]: Buffer | null | (Buffer | null)[] | undefined
}

/** A consumed message. Offsets and timestamps are strings, as in kafkajs. */
export interface KafkaMessage {
  key: Buffer | null
  value: Buffer | null
  timestamp: string
  attributes: number
  offset: string
  headers: KafkaMessageHeaders
  size: number
}

export interface PartitionOffset {
  partition: number
  offset: string
}

export interface TopicOffsets {
  topic: string
  partitions: PartitionOffset[]
}

export interface Offsets {
  topics: TopicOffsets[]
}

export type TopicPartitions = { topic: string; partitions: number[] }

export type TopicPartition = {
  topic: string
  partition: number
}

export type TopicPartitionOffset = TopicPartition & {
  offset: string
}

export type TopicPartitionOffsetAndMetadata = TopicPartitionOffset & {
  /** Accepted; strom does not store commit metadata. */
  metadata?: string | null
}

/** The offsets resolved and not yet committed; partitions are strings here, as kafkajs returns them. */
export interface OffsetsByTopicPartition {
  topics: Array<{ topic: string; partitions: Array<{ partition: string; offset: string }> }>
}

/** The messages of one partition from one fetch. */
export type Batch = {
  topic: string
  partition: number
  highWatermark: string
  messages: KafkaMessage[]
  isEmpty(): boolean
  firstOffset(): string | null
  lastOffset(): string
  offsetLag(): string
  offsetLagLow(): string
}

export interface EachMessagePayload {
  topic: string
  partition: number
  message: KafkaMessage
  heartbeat(): Promise<void>
  /** Pauses this partition; the function returned resumes it. */
  pause(): () => void
}

export interface EachBatchPayload {
  batch: Batch
  resolveOffset(offset: string): void
  heartbeat(): Promise<void>
  pause(): () => void
  /**
   * Commits the resolved offsets if autoCommit says it is time, or the
   * offsets given (a list of { topic, partition, offset }, unlike kafkajs's
   * `Offsets` object).
   */
  commitOffsetsIfNecessary(offsets?: TopicPartitionOffset[]): Promise<void>
  uncommittedOffsets(): OffsetsByTopicPartition
  isRunning(): boolean
  isStale(): boolean
}

export type ConsumerEachMessagePayload = EachMessagePayload
export type ConsumerEachBatchPayload = EachBatchPayload

export type EachBatchHandler = (payload: EachBatchPayload) => Promise<void> | void
export type EachMessageHandler = (payload: EachMessagePayload) => Promise<void> | void

export type ConsumerRunConfig = {
  autoCommit?: boolean
  autoCommitInterval?: number | null
  autoCommitThreshold?: number | null
  eachBatchAutoResolve?: boolean
  partitionsConsumedConcurrently?: number
  eachBatch?: EachBatchHandler
  eachMessage?: EachMessageHandler
}

/** @deprecated Replaced by ConsumerSubscribeTopics */
export type ConsumerSubscribeTopic = { topic: string | RegExp; fromBeginning?: boolean }
export type ConsumerSubscribeTopics = { topics: (string | RegExp)[]; fromBeginning?: boolean }

export interface ConsumerEvents {
  readonly HEARTBEAT: 'consumer.heartbeat'
  readonly COMMIT_OFFSETS: 'consumer.commit_offsets'
  readonly GROUP_JOIN: 'consumer.group_join'
  readonly FETCH_START: 'consumer.fetch_start'
  readonly FETCH: 'consumer.fetch'
  readonly START_BATCH_PROCESS: 'consumer.start_batch_process'
  readonly END_BATCH_PROCESS: 'consumer.end_batch_process'
  readonly CONNECT: 'consumer.connect'
  readonly DISCONNECT: 'consumer.disconnect'
  readonly STOP: 'consumer.stop'
  readonly CRASH: 'consumer.crash'
  readonly REBALANCING: 'consumer.rebalancing'
  readonly RECEIVED_UNSUBSCRIBED_TOPICS: 'consumer.received_unsubscribed_topics'
  readonly REQUEST: 'consumer.network.request'
  readonly REQUEST_TIMEOUT: 'consumer.network.request_timeout'
  readonly REQUEST_QUEUE_SIZE: 'consumer.network.request_queue_size'
  /** Strom's: librdkafka's statistics object, every `statisticsInterval` ms. */
  readonly STATS: 'consumer.stats'
}

/** memberId and groupGenerationId are null or undefined until the consumer joined its group. */
export type ConsumerHeartbeatEvent = InstrumentationEvent<{
  groupId: string
  memberId?: string | null
  groupGenerationId?: number | null
}>

export type ConsumerCommitOffsetsEvent = InstrumentationEvent<{
  groupId: string
  memberId?: string | null
  groupGenerationId?: number | null
  topics: Array<{ topic: string; partitions: Array<{ partition: string; offset: string }> }>
}>

export interface IMemberAssignment {
  [key: string]: number[]
}

export type ConsumerGroupJoinEvent = InstrumentationEvent<{
  duration: number
  groupId: string
  isLeader: boolean
  leaderId: string | null
  groupProtocol: string
  memberId?: string | null
  memberAssignment: IMemberAssignment
}>

export type ConsumerFetchStartEvent = InstrumentationEvent<{}>

export type ConsumerFetchEvent = InstrumentationEvent<{
  numberOfBatches: number
  duration: number
}>

interface IBatchProcessEvent {
  topic: string
  partition: number
  highWatermark: string
  offsetLag: string
  offsetLagLow: string
  batchSize: number
  firstOffset: string | null
  lastOffset: string
}

export type ConsumerStartBatchProcessEvent = InstrumentationEvent<IBatchProcessEvent>
export type ConsumerEndBatchProcessEvent = InstrumentationEvent<IBatchProcessEvent & { duration: number }>

export type ConsumerCrashEvent = InstrumentationEvent<{
  error: Error
  groupId: string
  restart: boolean
}>

export type MemberDescription = {
  clientHost: string
  clientId: string
  memberId: string
  memberAssignment: Buffer
  memberMetadata: Buffer
}

export type ConsumerGroupState =
  | 'Unknown'
  | 'PreparingRebalance'
  | 'CompletingRebalance'
  | 'Stable'
  | 'Dead'
  | 'Empty'

export type GroupDescription = {
  groupId: string
  members: MemberDescription[]
  protocol: string
  protocolType: string
  state: ConsumerGroupState
  errorCode: number
}

export type GroupDescriptions = {
  groups: GroupDescription[]
}

export type Consumer = {
  /** The consumer joins its group in run(); connect() only reports the event. */
  connect(): Promise<void>
  disconnect(): Promise<void>
  subscribe(subscription: ConsumerSubscribeTopics | ConsumerSubscribeTopic): Promise<void>
  stop(): Promise<void>
  run(config?: ConsumerRunConfig): Promise<void>
  /** Needs a running consumer (after run()). */
  commitOffsets(topicPartitions: Array<TopicPartitionOffsetAndMetadata>): Promise<void>
  /** Needs a running consumer (after run()); throws before it. */
  seek(topicPartitionOffset: TopicPartitionOffset): Promise<void>
  describeGroup(): Promise<GroupDescription>
  /**
   * `for await (const batch of consumer)` after subscribe(), instead of
   * run(): a batch per partition per poll, committed (autoCommit) once
   * the loop asks for the next; leaving the loop stops the consumer.
   */
  [Symbol.asyncIterator](): AsyncIterator<Batch>
  pause(topics: Array<{ topic: string; partitions?: number[] }>): void
  paused(): TopicPartitions[]
  resume(topics: Array<{ topic: string; partitions?: number[] }>): void
  logger(): Logger
  readonly events: ConsumerEvents
  on(
    eventName: ConsumerEvents['HEARTBEAT'],
    listener: (event: ConsumerHeartbeatEvent) => void
  ): RemoveInstrumentationEventListener<typeof eventName>
  on(
    eventName: ConsumerEvents['STATS'],
    listener: (event: StatsEvent) => void
  ): RemoveInstrumentationEventListener<typeof eventName>
  on(
    eventName: ConsumerEvents['COMMIT_OFFSETS'],
    listener: (event: ConsumerCommitOffsetsEvent) => void
  ): RemoveInstrumentationEventListener<typeof eventName>
  on(
    eventName: ConsumerEvents['GROUP_JOIN'],
    listener: (event: ConsumerGroupJoinEvent) => void
  ): RemoveInstrumentationEventListener<typeof eventName>
  on(
    eventName: ConsumerEvents['FETCH_START'],
    listener: (event: ConsumerFetchStartEvent) => void
  ): RemoveInstrumentationEventListener<typeof eventName>
  on(
    eventName: ConsumerEvents['FETCH'],
    listener: (event: ConsumerFetchEvent) => void
  ): RemoveInstrumentationEventListener<typeof eventName>
  on(
    eventName: ConsumerEvents['START_BATCH_PROCESS'],
    listener: (event: ConsumerStartBatchProcessEvent) => void
  ): RemoveInstrumentationEventListener<typeof eventName>
  on(
    eventName: ConsumerEvents['END_BATCH_PROCESS'],
    listener: (event: ConsumerEndBatchProcessEvent) => void
  ): RemoveInstrumentationEventListener<typeof eventName>
  on(
    eventName: ConsumerEvents['CONNECT'],
    listener: (event: ConnectEvent) => void
  ): RemoveInstrumentationEventListener<typeof eventName>
  on(
    eventName: ConsumerEvents['DISCONNECT'],
    listener: (event: DisconnectEvent) => void
  ): RemoveInstrumentationEventListener<typeof eventName>
  on(
    eventName: ConsumerEvents['STOP'],
    listener: (event: InstrumentationEvent<{}>) => void
  ): RemoveInstrumentationEventListener<typeof eventName>
  on(
    eventName: ConsumerEvents['CRASH'],
    listener: (event: ConsumerCrashEvent) => void
  ): RemoveInstrumentationEventListener<typeof eventName>
  on(
    eventName: ValueOf<ConsumerEvents>,
    listener: (event: InstrumentationEvent<any>) => void
  ): RemoveInstrumentationEventListener<typeof eventName>
}

// ---------------------------------------------------------------------------
// Admin

/** No admin options of its own yet. */
export interface AdminConfig {}

export interface IResourceConfigEntry {
  name: string
  value: string
}

export interface ITopicConfig {
  topic: string
  /** Default: the broker's num.partitions. */
  numPartitions?: number
  /** Default: the broker's default.replication.factor. */
  replicationFactor?: number
  configEntries?: IResourceConfigEntry[]
}

export interface ITopicPartitionConfig {
  topic: string
  /** The topic's new total number of partitions. */
  count: number
}

export type PartitionMetadata = {
  partitionErrorCode: number
  partitionId: number
  leader: number
  replicas: number[]
  isr: number[]
  offlineReplicas?: number[]
}

export interface ITopicMetadata {
  name: string
  partitions: PartitionMetadata[]
}

export type SeekEntry = PartitionOffset

export type FetchOffsetsPartition = PartitionOffset & { metadata: string | null }

export interface ResourceConfigQuery {
  /** ConfigResourceTypes.TOPIC or ConfigResourceTypes.BROKER. */
  type: ConfigResourceTypes
  name: string
  configNames?: string[]
}

export interface ConfigSynonyms {
  configName: string
  configValue: string
  configSource: ConfigSource
}

export interface ConfigEntries {
  configName: string
  configValue: string | null
  isDefault: boolean
  configSource: ConfigSource
  isSensitive: boolean
  readOnly: boolean
  /** Always empty: strom does not describe synonyms. */
  configSynonyms: ConfigSynonyms[]
}

export interface DescribeConfigResponse {
  resources: {
    configEntries: ConfigEntries[]
    errorCode: number
    errorMessage: string | null
    resourceName: string
    resourceType: ConfigResourceTypes
  }[]
  throttleTime: number
}

export interface IResourceConfig {
  /** ConfigResourceTypes.TOPIC or ConfigResourceTypes.BROKER. */
  type: ConfigResourceTypes
  name: string
  configEntries: IResourceConfigEntry[]
}

export interface AlterConfigsResponse {
  resources: {
    errorCode: number
    errorMessage: string | null
    resourceName: string
    resourceType: ConfigResourceTypes
  }[]
  throttleTime: number
}

export type GroupOverview = {
  groupId: string
  protocolType: string
}

export type DeleteGroupsResult = {
  groupId: string
  errorCode?: number
  error?: KafkaJSError | null
}

export interface AdminEvents {
  readonly CONNECT: 'admin.connect'
  readonly DISCONNECT: 'admin.disconnect'
  readonly REQUEST: 'admin.network.request'
  readonly REQUEST_TIMEOUT: 'admin.network.request_timeout'
  readonly REQUEST_QUEUE_SIZE: 'admin.network.request_queue_size'
}

export type Admin = {
  connect(): Promise<void>
  disconnect(): Promise<void>
  listTopics(): Promise<string[]>
  /** true when every topic was created, false when one of them existed already. */
  createTopics(options: { validateOnly?: boolean; topics: ITopicConfig[] }): Promise<boolean>
  deleteTopics(options: { topics: string[] }): Promise<void>
  createPartitions(options: { validateOnly?: boolean; topicPartitions: ITopicPartitionConfig[] }): Promise<boolean>
  fetchTopicMetadata(options?: { topics?: string[] }): Promise<{ topics: Array<ITopicMetadata> }>
  fetchOffsets(options: {
    groupId: string
    topics?: string[]
  }): Promise<Array<{ topic: string; partitions: FetchOffsetsPartition[] }>>
  fetchTopicOffsets(topic: string): Promise<Array<SeekEntry & { high: string; low: string }>>
  fetchTopicOffsetsByTimestamp(topic: string, timestamp?: number): Promise<Array<SeekEntry>>
  describeCluster(): Promise<{
    brokers: Array<{ nodeId: number; host: string; port: number }>
    controller: number | null
    clusterId: string
  }>
  setOffsets(options: { groupId: string; topic: string; partitions: SeekEntry[] }): Promise<void>
  resetOffsets(options: { groupId: string; topic: string; earliest?: boolean }): Promise<void>
  /** Offset "-1" deletes up to the partition's end. */
  deleteTopicRecords(options: { topic: string; partitions: SeekEntry[] }): Promise<void>
  /** includeSynonyms is accepted; no synonyms are returned. */
  describeConfigs(configs: {
    resources: ResourceConfigQuery[]
    includeSynonyms?: boolean
  }): Promise<DescribeConfigResponse>
  alterConfigs(configs: { validateOnly?: boolean; resources: IResourceConfig[] }): Promise<AlterConfigsResponse>
  listGroups(): Promise<{ groups: GroupOverview[] }>
  deleteGroups(groupIds: string[]): Promise<DeleteGroupsResult[]>
  describeGroups(groupIds: string[]): Promise<GroupDescriptions>
  /** true once every ACL is created; a refused one throws its KafkaJSProtocolError. */
  createAcls(options: { acl: Array<ResourceAcls & AclEntry> }): Promise<boolean>
  describeAcls(filter: AclFilter): Promise<DescribeAclResponse>
  deleteAcls(options: { filters: AclFilter[] }): Promise<DeleteAclResponse>
  logger(): Logger
  readonly events: AdminEvents
  /** CONNECT and DISCONNECT; the network.* request events are not emitted. */
  on(
    eventName: ValueOf<AdminEvents>,
    listener: (event: InstrumentationEvent<any>) => void
  ): RemoveInstrumentationEventListener<typeof eventName>
}

// ---------------------------------------------------------------------------
// Errors

export interface KafkaJSErrorMetadata {
  retriable?: boolean
  cause?: Error
}

export class KafkaJSError extends Error {
  readonly message: Error['message']
  readonly name: string
  readonly retriable: boolean
  readonly helpUrl?: string
  readonly cause?: Error
  constructor(e: Error | string, metadata?: KafkaJSErrorMetadata)
}

export class KafkaJSNonRetriableError extends KafkaJSError {
  constructor(e: Error | string, metadata?: { cause?: Error })
}

/** The facts of a Kafka protocol error, as KafkaJSProtocolError takes them. */
export interface KafkaJSProtocolErrorFacts {
  message: string
  /** The protocol error's name, e.g. "UNKNOWN_TOPIC_OR_PARTITION". */
  type: string
  /** The protocol error code. */
  code: number
  retriable?: boolean
}

export class KafkaJSProtocolError extends KafkaJSError {
  /** The protocol error's name, e.g. "UNKNOWN_TOPIC_OR_PARTITION". */
  readonly type: string
  /** The protocol error code. */
  readonly code: number
  constructor(e: KafkaJSProtocolErrorFacts, metadata?: { retriable?: boolean })
}

export class KafkaJSOffsetOutOfRange extends KafkaJSProtocolError {
  readonly topic?: string
  readonly partition?: number
  constructor(e: KafkaJSProtocolErrorFacts, metadata?: { topic?: string; partition?: number })
}

export class KafkaJSNumberOfRetriesExceeded extends KafkaJSNonRetriableError {
  readonly retryCount?: number
  readonly retryTime?: number
  constructor(e: Error | string, metadata?: { retryCount?: number; retryTime?: number })
}

export class KafkaJSConnectionError extends KafkaJSError {
  readonly broker?: string
  /** The client core's name of the failure, e.g. "_TRANSPORT". */
  readonly code?: string
  constructor(e: Error | string, metadata?: { broker?: string; code?: string })
}

export class KafkaJSRequestTimeoutError extends KafkaJSError {
  readonly broker?: string
  constructor(e: Error | string, metadata?: { broker?: string })
}

export class KafkaJSTimeout extends KafkaJSError {
  constructor(e: Error | string, metadata?: KafkaJSErrorMetadata)
}

export class KafkaJSTopicMetadataNotLoaded extends KafkaJSError {
  readonly topic?: string
  constructor(e: Error | string, metadata?: { topic?: string })
}

export interface KafkaJSDeleteGroupsErrorGroups {
  groupId: string
  errorCode: number
  error: KafkaJSError
}

export class KafkaJSDeleteGroupsError extends KafkaJSError {
  readonly groups: KafkaJSDeleteGroupsErrorGroups[]
  constructor(e: Error | string, groups?: KafkaJSDeleteGroupsErrorGroups[])
}

/** Several items of one admin call failed: `errors` has one error per item. */
export class KafkaJSAggregateError extends Error {
  readonly errors: Error[]
  constructor(message: string, errors: Error[])
}

/** The error classes, also exported one by one. */
export const errors: {
  readonly KafkaJSError: typeof KafkaJSError
  readonly KafkaJSNonRetriableError: typeof KafkaJSNonRetriableError
  readonly KafkaJSProtocolError: typeof KafkaJSProtocolError
  readonly KafkaJSOffsetOutOfRange: typeof KafkaJSOffsetOutOfRange
  readonly KafkaJSNumberOfRetriesExceeded: typeof KafkaJSNumberOfRetriesExceeded
  readonly KafkaJSConnectionError: typeof KafkaJSConnectionError
  readonly KafkaJSRequestTimeoutError: typeof KafkaJSRequestTimeoutError
  readonly KafkaJSTimeout: typeof KafkaJSTimeout
  readonly KafkaJSTopicMetadataNotLoaded: typeof KafkaJSTopicMetadataNotLoaded
  readonly KafkaJSDeleteGroupsError: typeof KafkaJSDeleteGroupsError
  readonly KafkaJSAggregateError: typeof KafkaJSAggregateError
}
