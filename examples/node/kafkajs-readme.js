// The kafkajs README's getting-started program, as a kafkajs user has it.
// The test suite (node/test/kafkajs.test.js) runs it twice against the
// same broker: as it is, and with `require('kafkajs')` swapped for
// `require('strom')`; both must print the same.
const { Kafka, logLevel } = require('kafkajs')

const topic = process.env.TOPIC
const kafka = new Kafka({
  clientId: 'my-app',
  brokers: process.env.BROKERS.split(','),
  logLevel: logLevel.NOTHING,
})

const producer = kafka.producer()
const consumer = kafka.consumer({ groupId: `${topic}-group` })

const run = async () => {
  // Producing
  await producer.connect()
  await producer.send({
    topic,
    messages: [
      { key: 'user-1', value: 'Hello KafkaJS user!', headers: { source: 'readme' } },
      { key: 'user-2', value: 'Hello again' },
    ],
  })

  // Consuming
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })

  let seen = 0
  await new Promise(resolve => {
    consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        console.log({
          topic,
          partition,
          offset: message.offset,
          key: message.key.toString(),
          value: message.value.toString(),
          headers: Object.fromEntries(Object.entries(message.headers).map(([k, v]) => [k, v.toString()])),
        })
        if (++seen === 2) resolve()
      },
    })
  })
  await consumer.disconnect()
  await producer.disconnect()
}

run().catch(e => {
  console.error(e)
  process.exit(1)
})
