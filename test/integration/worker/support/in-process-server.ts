/** A WorkerServer in the test process (from the sources), on a Unix socket in a fresh temp dir. */
import { join } from 'node:path';
import { WorkerServer, type WorkerServerOptions } from '@gatewire/worker';
import { capturingLogger, type LogLine } from './log-capture.js';
import { ProtocolClient, type ClientOptions } from './protocol-client.js';
import { freshTempDir } from './temp-dir.js';

export interface InProcessServer {
  server: WorkerServer;
  path: string;
  dir: string;
  lines: LogLine[];
  connect(options?: ClientOptions): Promise<ProtocolClient>;
  stop(): Promise<void>;
}

const clients = new Set<ProtocolClient>();

export async function startInProcess(options: Omit<WorkerServerOptions, 'logger'>): Promise<InProcessServer> {
  const dir = freshTempDir('gwu');
  const { logger, lines } = capturingLogger();
  const server = new WorkerServer({ ...options, logger });
  const path = join(dir.path, 'w.sock');
  await server.listen({ kind: 'socket', path });
  return {
    server,
    path,
    dir: dir.path,
    lines,
    async connect(clientOptions?: ClientOptions) {
      const client = await ProtocolClient.connect(path, clientOptions);
      clients.add(client);
      return client;
    },
    async stop() {
      for (const client of clients) client.close();
      clients.clear();
      server.close();
      dir.remove();
    },
  };
}
