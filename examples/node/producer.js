// Produce a few orders with keys and headers. BROKERS=host:port node producer.js
const { Kafka, CompressionTypes } = require('strom')

async function main() {
  const kafka = new Kafka({ clientId: 'orders-app', brokers: (process.env.BROKERS || '127.0.0.1:9092').split(',') })
  const producer = kafka.producer({ idempotent: true })
  await producer.connect()
  const written = await producer.send({
    topic: 'orders',
    compression: CompressionTypes.ZSTD,
    messages: [
      { key: 'customer-1', value: JSON.stringify({ item: 'apples', qty: 42 }), headers: { source: 'web' } },
      { key: 'customer-2', value: JSON.stringify({ item: 'pears', qty: 7 }), headers: { source: 'app' } },
    ],
  })
  for (const { topicName, partition, baseOffset } of written) {
    console.log(`wrote to ${topicName}[${partition}] from offset ${baseOffset}`)
  }
  await producer.disconnect()
}

main().catch(error => {
  console.error(error)
  process.exit(1)
})
