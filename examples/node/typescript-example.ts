// The strom package from TypeScript: starts the bundled broker, creates a
// topic, produces a few messages with headers, consumes them in a group
// with eachMessage, prints them and disconnects.
//
// Type-check (tsc from tests/compat/node, installed by its `npm ci`):
//   tests/compat/node/node_modules/.bin/tsc -p examples/node/tsconfig.json
// Run: compile to a directory whose node_modules/strom is this checkout's
// node/ package (the tsconfig's paths only tell the compiler where it is):
//   out=$(mktemp -d) && mkdir -p "$out/node_modules" && ln -s "$PWD/node" "$out/node_modules/strom"
//   tests/compat/node/node_modules/.bin/tsc -p examples/node/tsconfig.json --noEmit false --outDir "$out"
//   node "$out/typescript-example.js"
import { CompressionTypes, EachMessagePayload, Kafka, KafkaJSError, logLevel, Message } from 'strom'
import { startBroker } from 'strom/testing'

const TOPIC = 'typescript-example'
const COUNT = 5

interface Received {
  partition: number
  offset: string
  key: string | null
  value: string | null
  headers: Record<string, string>
}

/** Resolves when `done()` says so, rejects after `ms`. */
function waitUntil(done: () => boolean, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now()
    const check = setInterval(() => {
      if (done()) {
        clearInterval(check)
        resolve()
      } else if (Date.now() - started > ms) {
        clearInterval(check)
        reject(new Error(`timed out after ${ms} ms`))
      }
    }, 20)
  })
}

async function main(): Promise<void> {
  const broker = await startBroker()
  const kafka = new Kafka({ clientId: 'typescript-example', brokers: broker.brokers, logLevel: logLevel.WARN })
  const admin = kafka.admin()
  const producer = kafka.producer()
  const consumer = kafka.consumer({ groupId: 'typescript-example-group', sessionTimeout: 6000 })
  try {
    await admin.connect()
    const created: boolean = await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 2 }] })
    console.log(`created ${TOPIC}: ${created}`)

    await producer.connect()
    const messages: Message[] = Array.from({ length: COUNT }, (_, i) => ({
      key: `key-${i}`,
      value: Buffer.from(`value-${i}`),
      headers: { source: 'typescript-example', index: String(i) },
    }))
    const written = await producer.send({ topic: TOPIC, messages, compression: CompressionTypes.GZIP })
    for (const { topicName, partition, baseOffset } of written) {
      console.log(`wrote to ${topicName} [${partition}] from offset ${baseOffset}`)
    }

    const received: Received[] = []
    await consumer.connect()
    await consumer.subscribe({ topics: [TOPIC], fromBeginning: true })
    await consumer.run({
      eachMessage: async ({ partition, message }: EachMessagePayload) => {
        const headers: Record<string, string> = {}
        for (const [name, value] of Object.entries(message.headers)) {
          if (value !== undefined) headers[name] = String(value)
        }
        received.push({
          partition,
          offset: message.offset,
          key: message.key === null ? null : message.key.toString(),
          value: message.value === null ? null : message.value.toString(),
          headers,
        })
      },
    })
    await waitUntil(() => received.length >= COUNT, 30000)

    received.sort((a, b) => (a.key ?? '').localeCompare(b.key ?? ''))
    for (const m of received) {
      console.log(`read [${m.partition}] @ ${m.offset}: ${m.key} = ${m.value} ${JSON.stringify(m.headers)}`)
    }
  } catch (error) {
    if (error instanceof KafkaJSError) {
      console.error(`${error.name} (retriable: ${error.retriable}): ${error.message}`)
    }
    throw error
  } finally {
    await consumer.disconnect()
    await producer.disconnect()
    await admin.disconnect()
    await broker.stop()
  }
}

main().catch(error => {
  console.error(error)
  process.exitCode = 1
})
