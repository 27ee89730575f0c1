// The bench's SMTP sink, in a thread of its own (started by startSmtpSink in escalation.mjs): the
// time at which it accepts a message's DATA is then the server's, not a turn of the bench's main
// event loop, which also runs the load generator and the Kafka reader.
import { createRequire } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';

const require = createRequire(import.meta.url);
const { SMTPServer } = require('smtp-server');

const wallNow = () => performance.timeOrigin + performance.now();
const subjectPattern = new RegExp(workerData.subjectPattern);

const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  logger: false,
  size: 4 * 1024 * 1024,
  onData(stream, session, done) {
    let head = '';
    stream.on('data', (chunk) => {
      if (head.length < 16384 && !head.includes('\r\n\r\n')) head += chunk.toString('latin1');
    });
    stream.on('end', () => {
      const at = wallNow();
      const headers = head.split('\r\n\r\n')[0].replace(/\r\n[ \t]+/g, ' ');
      const subject = /^subject:\s*(.*)$/im.exec(headers)?.[1]?.trim() ?? '';
      const key = subjectPattern.exec(subject)?.[1];
      parentPort.postMessage({ type: 'message', key: key?.startsWith(workerData.keyPrefix) ? key : undefined, at, to: session.envelope.rcptTo.map((r) => r.address) });
      done();
    });
  },
});

server.once('error', (e) => parentPort.postMessage({ type: 'error', message: e.message }));
server.listen(workerData.port, '127.0.0.1', () => parentPort.postMessage({ type: 'listening' }));
parentPort.on('message', (m) => {
  if (m === 'stop') server.close(() => parentPort.postMessage({ type: 'stopped' }));
});
