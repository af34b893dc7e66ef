/**
 * Coalesces many small writes (archive records) into large ones. Bytes handed
 * to `write` are copied or written before it resolves, so callers may reuse them.
 */
export class BufferedWriter {
  readonly #sink: { write(p: Uint8Array): Promise<number> };
  readonly #buffer: Uint8Array;
  #used = 0;

  constructor(sink: { write(p: Uint8Array): Promise<number> }, size = 1 << 20) {
    this.#sink = sink;
    this.#buffer = new Uint8Array(size);
  }

  async write(bytes: Uint8Array): Promise<void> {
    if (this.#used + bytes.length <= this.#buffer.length) {
      this.#buffer.set(bytes, this.#used);
      this.#used += bytes.length;
      return;
    }
    await this.flush();
    if (bytes.length >= this.#buffer.length) await this.#writeAll(bytes);
    else {
      this.#buffer.set(bytes);
      this.#used = bytes.length;
    }
  }

  async flush(): Promise<void> {
    if (this.#used === 0) return;
    await this.#writeAll(this.#buffer.subarray(0, this.#used));
    this.#used = 0;
  }

  async #writeAll(bytes: Uint8Array) {
    let done = 0;
    while (done < bytes.length) done += await this.#sink.write(bytes.subarray(done));
  }
}
