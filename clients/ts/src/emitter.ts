// A minimal typed event emitter that runs the same in browsers and Node (no `events` module).

/** Listeners keyed by event name; each event's payload type comes from the map `E`. */
export class TypedEmitter<E extends { [K in keyof E]: unknown }> {
  private listeners: { [K in keyof E]?: Array<(payload: E[K]) => void> } = {};

  /** Calls `listener` on every `event` until {@link off}. Returns `this`. */
  on<K extends keyof E>(event: K, listener: (payload: E[K]) => void): this {
    (this.listeners[event] ??= []).push(listener);
    return this;
  }

  /** Calls `listener` on the next `event` only. */
  once<K extends keyof E>(event: K, listener: (payload: E[K]) => void): this {
    const wrapped = (payload: E[K]): void => {
      this.off(event, wrapped);
      listener(payload);
    };
    return this.on(event, wrapped);
  }

  /** Removes a listener added with {@link on}. */
  off<K extends keyof E>(event: K, listener: (payload: E[K]) => void): this {
    const list = this.listeners[event];
    if (list) {
      const i = list.indexOf(listener);
      if (i >= 0) list.splice(i, 1);
    }
    return this;
  }

  /** Resolves with the next `event`'s payload. */
  next<K extends keyof E>(event: K): Promise<E[K]> {
    return new Promise((resolve) => this.once(event, resolve));
  }

  protected emit<K extends keyof E>(event: K, payload: E[K]): void {
    for (const l of [...(this.listeners[event] ?? [])]) l(payload);
  }
}
