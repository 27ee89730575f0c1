import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { ISocketFactory } from 'kafkajs';

/**
 * Network fault injection for one Kafka client (kafkajs `socketFactory`): `cut()` drops its
 * connections and refuses new ones, `restore()` lets it reconnect. The broker keeps running for
 * every other client, so a test can take "Kafka" away from one service without touching the rest.
 */
export class KafkaNetworkSwitch {
  private readonly sockets = new Set<Socket>();
  private down = false;
  /** Connections refused while cut: proof that the client noticed and tried to reconnect. */
  refusedConnections = 0;

  readonly socketFactory: ISocketFactory = ({ host, port, ssl, onConnect }) => {
    const socket: Socket = ssl ? tlsConnect({ host, port, ...ssl }, onConnect) : tcpConnect({ host, port }, onConnect);
    socket.setKeepAlive(true, 60_000);
    if (this.down) {
      this.refusedConnections++;
      setImmediate(() => socket.destroy(new Error('network cut by the test')));
      return socket;
    }
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    return socket;
  };

  cut(): void {
    this.down = true;
    for (const s of this.sockets) s.destroy(new Error('network cut by the test'));
  }

  restore(): void {
    this.down = false;
  }
}
