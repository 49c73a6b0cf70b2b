/**
 * A command's output, kept within bounds: its first and last bytes, and how much was cut between.
 * The model usually needs the start (what ran) and the end (the failure, the summary).
 */
export class CappedOutput {
  private readonly head: Buffer[] = [];
  private headBytes = 0;
  private tail: Buffer[] = [];
  private tailBytes = 0;
  private total = 0;

  constructor(
    private readonly headLimit: number,
    private readonly tailLimit: number,
  ) {}

  push(chunk: Buffer): void {
    this.total += chunk.length;
    const toHead = Math.min(chunk.length, this.headLimit - this.headBytes);
    if (toHead > 0) {
      this.head.push(chunk.subarray(0, toHead));
      this.headBytes += toHead;
    }
    const rest = chunk.subarray(Math.max(toHead, 0));
    if (!rest.length) return;
    this.tail.push(rest);
    this.tailBytes += rest.length;
    // Drop whole chunks from the front while what is left still fills the tail.
    while (this.tailBytes - this.tail[0]!.length >= this.tailLimit) this.tailBytes -= this.tail.shift()!.length;
  }

  /** The output as text (invalid UTF-8 shown as U+FFFD), with a note where bytes were cut. */
  text(): string {
    const head = Buffer.concat(this.head).toString('utf8');
    let tail = Buffer.concat(this.tail);
    if (tail.length > this.tailLimit) tail = tail.subarray(tail.length - this.tailLimit);
    const cut = this.total - this.headBytes - tail.length;
    if (cut <= 0) return head + tail.toString('utf8');
    return `${head}\n[… ${cut} bytes of output cut here: ${this.total} in all, the first ${this.headBytes} and the last ${tail.length} kept …]\n${tail.toString('utf8')}`;
  }
}
