import type { Redis } from 'ioredis';
import { videoEventsChannel } from '@framewise/contracts';

/**
 * One Redis subscriber connection per API process, shared by every SSE client of that
 * process: channels are subscribed while someone watches them. Events are only wake-ups; the
 * stream re-reads the state from Postgres, so any replica can serve any client.
 */
export class EventHub {
  private readonly listeners = new Map<string, Set<() => void>>();

  constructor(
    private readonly subscriber: Redis,
    private readonly keyPrefix: string,
  ) {
    subscriber.on('message', (channel: string) => {
      for (const listener of this.listeners.get(channel) ?? []) listener();
    });
  }

  /** Calls `listener` on every event of the video until the returned function is called. */
  async watch(videoId: string, listener: () => void): Promise<() => Promise<void>> {
    const channel = videoEventsChannel(this.keyPrefix, videoId);
    let set = this.listeners.get(channel);
    if (!set) {
      set = new Set();
      this.listeners.set(channel, set);
      await this.subscriber.subscribe(channel);
    }
    set.add(listener);
    return async () => {
      const current = this.listeners.get(channel);
      current?.delete(listener);
      if (current?.size === 0) {
        this.listeners.delete(channel);
        await this.subscriber.unsubscribe(channel).catch(() => 0);
      }
    };
  }

  async close(): Promise<void> {
    this.listeners.clear();
    await this.subscriber.quit().catch(() => 'OK');
  }
}
