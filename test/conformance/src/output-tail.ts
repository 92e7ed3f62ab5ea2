/** Keeps the last lines a worker printed, to show when it fails to start or dies mid-check. */
export class OutputTail {
  #maxBytes: number;
  #chunks: string[] = [];
  #size = 0;

  constructor(maxBytes = 8192) {
    this.#maxBytes = maxBytes;
  }

  push(chunk: Buffer | string): void {
    const text = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    this.#chunks.push(text);
    this.#size += text.length;
    while (this.#size > this.#maxBytes && this.#chunks.length > 1) {
      this.#size -= this.#chunks.shift()!.length;
    }
  }

  /** The retained text, cut to whole lines where possible, at most `maxBytes` characters. */
  text(): string {
    let text = this.#chunks.join('');
    if (text.length > this.#maxBytes) {
      text = text.slice(text.length - this.#maxBytes);
      const newline = text.indexOf('\n');
      if (newline >= 0 && newline < text.length - 1) text = text.slice(newline + 1);
    }
    return text.trimEnd();
  }
}
