import type { DeliveryItem, DeliveryResult, Sink } from '../bus/delivery.js';

/**
 * A sink made on first use (by the router's paneSinks option), so a router
 * that never pastes into a pane never loads the tmux layer.
 */
export class LazySink implements Sink {
  readonly kind = 'tmux' as const;
  private inner: Promise<Sink> | undefined;
  private wake: (() => void) | undefined;

  constructor(readonly signature: string, private readonly load: () => Promise<Sink>) {}

  async deliver(items: DeliveryItem[]): Promise<DeliveryResult> {
    let sink: Sink;
    try {
      sink = await this.loaded();
    } catch (error) {
      this.inner = undefined;
      return { delivered: 0, retryAfterMs: 5000, waiting: `tmux delivery unavailable: ${(error as Error).message}` };
    }
    return sink.deliver(items);
  }

  onWake(wake: () => void): void {
    this.wake = wake;
  }

  async close(): Promise<void> {
    if (this.inner) await (await this.inner.catch(() => undefined))?.close();
  }

  private loaded(): Promise<Sink> {
    this.inner ??= this.load().then((sink) => {
      if (this.wake) sink.onWake?.(this.wake);
      return sink;
    });
    return this.inner;
  }
}
