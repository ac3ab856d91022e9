// Create the orders topic (3 partitions, 7 days of retention) and show
// it. BROKERS=host:port node admin.js
const { Kafka, ConfigResourceTypes } = require('strom')

async function main() {
  const kafka = new Kafka({ clientId: 'ops', brokers: (process.env.BROKERS || '127.0.0.1:9092').split(',') })
  const admin = kafka.admin()
  await admin.connect()
  const created = await admin.createTopics({
    topics: [{ topic: 'orders', numPartitions: 3, configEntries: [{ name: 'retention.ms', value: String(7 * 24 * 3600 * 1000) }] }],
  })
  console.log(created ? 'created orders' : 'orders already exists')
  const { topics } = await admin.fetchTopicMetadata({ topics: ['orders'] })
  console.log(`orders has ${topics[0].partitions.length} partitions`)
  const { resources } = await admin.describeConfigs({
    resources: [{ type: ConfigResourceTypes.TOPIC, name: 'orders', configNames: ['retention.ms'] }],
  })
  console.log(`retention.ms = ${resources[0].configEntries[0].configValue}`)
  await admin.disconnect()
}

main().catch(error => {
  console.error(error)
  process.exit(1)
})
