// What the chaos suite needs from a running framewise system: the shape of @framewise/stack's
// `Stack`, narrowed to what is used here, so the suite's parts stay testable on their own.
import type { ProcessRole } from './schedule';

/** One service process of the system. */
export interface ChaosProcess {
  readonly role: string;
  readonly name: string;
  readonly pid: number;
  /** SIGKILL, resolved once the process is gone. */
  kill(): Promise<void>;
  /** Starts it again under the same name and consumer id; resolved when the new one is ready. */
  restart(): Promise<ChaosProcess>;
}

/** A server the suite may crash and bring back. */
export interface CrashableServer {
  kill(): Promise<void>;
  start(): Promise<void>;
  restart(): Promise<void>;
}

/** A whole framewise system: API, extractors, workers, reapers, Redis and Postgres. */
export interface ChaosSystem {
  readonly apiUrl: string;
  readonly apiKey: string;
  readonly redisUrl: string;
  readonly databaseUrl: string;
  readonly keyPrefix: string;
  readonly redis: CrashableServer;
  readonly postgres: CrashableServer;
  processes(role: ProcessRole): readonly ChaosProcess[];
  /** One more process of `role`, resolved when it is ready. */
  spawn(role: ProcessRole): Promise<ChaosProcess>;
  stop(): Promise<void>;
}
