/** The tests' private RabbitMQ node is the launchers' own (lib/launch/private-rabbitmq.ts). */
export { startPrivateBroker, type PrivateBroker } from '../../lib/launch/private-rabbitmq.js'
