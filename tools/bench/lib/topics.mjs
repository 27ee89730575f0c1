/** A platform topic's name as the services use it: after KAFKA_TOPIC_PREFIX (libs/shared/contracts topics.ts). */
export const topicName = (name) => `${process.env.KAFKA_TOPIC_PREFIX ?? ''}${name}`;
