// Reading Redis' CLIENT LIST to find a worker's connections (workers name theirs
// `worker:<consumer id>` with CLIENT SETNAME, through ioredis' `connectionName`). Pure.

/** One connection as CLIENT LIST shows it. */
export interface ClientInfo {
  readonly id: string;
  readonly name: string;
  /** The last command the connection ran (`evalsha`, `blmove`, …). */
  readonly cmd: string;
}

/** Parses CLIENT LIST output (one `key=value key=value …` line per connection). */
export function parseClientList(text: string): ClientInfo[] {
  const clients: ClientInfo[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const fields = new Map<string, string>();
    for (const pair of line.trim().split(' ')) {
      const eq = pair.indexOf('=');
      if (eq > 0) fields.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    const id = fields.get('id');
    if (id === undefined) continue;
    clients.push({ id, name: fields.get('name') ?? '', cmd: fields.get('cmd') ?? '' });
  }
  return clients;
}

/** The prefix of a worker's connection names; the rest is its queue consumer id. */
export const WORKER_CONNECTION_PREFIX = 'worker:';

/** Worker connections grouped by consumer id. */
export function workerConnections(clients: readonly ClientInfo[]): Map<string, ClientInfo[]> {
  const byConsumer = new Map<string, ClientInfo[]>();
  for (const client of clients) {
    if (!client.name.startsWith(WORKER_CONNECTION_PREFIX)) continue;
    const consumerId = client.name.slice(WORKER_CONNECTION_PREFIX.length);
    const list = byConsumer.get(consumerId) ?? [];
    list.push(client);
    byConsumer.set(consumerId, list);
  }
  return byConsumer;
}
