/** Something that releases a resource. close() must be idempotent. */
export interface Disposable {
  close(): Promise<void> | void;
}

/**
 * Owns resources and releases them in reverse order of registration, collecting every error.
 * Adding to a disposed store releases the newcomer at once.
 */
export class DisposableStore implements Disposable {
  private readonly items: Disposable[] = [];
  private closing: Promise<void> | undefined;

  get disposed(): boolean {
    return this.closing !== undefined;
  }

  add<T extends Disposable>(item: T): T {
    if (this.closing !== undefined) {
      void Promise.resolve().then(() => item.close()).catch(() => undefined);
      return item;
    }
    this.items.push(item);
    return item;
  }

  addFunction(close: () => Promise<void> | void): void {
    this.add({ close });
  }

  close(): Promise<void> {
    this.closing ??= this.closeAll();
    return this.closing;
  }

  private async closeAll(): Promise<void> {
    const errors: unknown[] = [];
    while (this.items.length > 0) {
      const item = this.items.pop();
      try {
        await item?.close();
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, 'multiple errors while closing');
  }
}
