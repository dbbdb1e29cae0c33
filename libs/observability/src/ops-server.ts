import express from 'express';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { OpsRoutesOptions } from './health';
import { opsRoutes } from './health';
import { httpMetrics } from './http-metrics';

export interface OpsServer {
  /** The bound port (useful when asked for port 0). */
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

/**
 * A small HTTP server with only the operations endpoints, for processes that serve no other
 * HTTP (extractor, worker, reaper). The API mounts {@link opsRoutes} on its own app instead.
 */
export async function startOpsServer(
  options: OpsRoutesOptions & { readonly port: number; readonly host?: string },
): Promise<OpsServer> {
  const app = express();
  app.disable('x-powered-by');
  app.use(httpMetrics(options.registry));
  app.use(opsRoutes(options));
  const host = options.host ?? '0.0.0.0';
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(options.port, host, (error?: Error) => {
      if (error) reject(error);
      else resolve(s);
    });
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = host === '0.0.0.0' ? '127.0.0.1' : host;
  return {
    port,
    url: `http://${shownHost}:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => {
          if (error) reject(error);
          else resolve();
        });
        server.closeAllConnections();
      }),
  };
}
