// Reference server: bare Fastify, same body limit as the ingestion service, JSON body parsed,
// answers {"success":true}. What HTTP + JSON on this machine costs without Nest, Postgres or Kafka.
import Fastify from 'fastify';

const app = Fastify({ logger: false, bodyLimit: 4 * 1024 * 1024 });
app.post('/*', async () => ({ success: true }));
app.get('/health/ready', async () => ({ status: 'ready' }));

await app.listen({ port: Number(process.env.PORT ?? 3999), host: '127.0.0.1' });
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
process.on('SIGINT', () => app.close().then(() => process.exit(0)));
