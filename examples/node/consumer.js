// Read orders as a member of the group "billing" until COUNT have arrived
// (default 2), committing as it goes. BROKERS=host:port node consumer.js
const { Kafka } = require('strom')

async function main() {
  const kafka = new Kafka({ clientId: 'billing', brokers: (process.env.BROKERS || '127.0.0.1:9092').split(',') })
  const consumer = kafka.consumer({ groupId: 'billing' })
  await consumer.connect()
  await consumer.subscribe({ topic: 'orders', fromBeginning: true })
  const wanted = Number(process.env.COUNT || 2)
  let count = 0
  await new Promise(resolve => {
    consumer.run({
      eachMessage: async ({ partition, message }) => {
        const order = JSON.parse(message.value.toString())
        console.log(`${message.key}: ${order.qty} ${order.item} (partition ${partition}, offset ${message.offset}, from ${message.headers.source})`)
        if (++count === wanted) resolve()
      },
    })
  })
  await consumer.disconnect() // commits what was read and leaves the group
}

main().catch(error => {
  console.error(error)
  process.exit(1)
})
