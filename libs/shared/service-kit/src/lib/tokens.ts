/** Injection tokens shared by every service. */
export const SERVICE_CONFIG = Symbol('ServiceConfig');
export const SERVICE_NAME = Symbol('ServiceName');
export const SERVICE_LOGGER = Symbol('ServiceLogger');
export const KAFKA = Symbol('Kafka');
