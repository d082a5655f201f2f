// The Window: admits compression jobs in entry order into a bounded ring of file content.

const MAX_ENTRIES_IN_FLIGHT = 4096

/** Ring space for one file's content, and the ticket that gives it back. */
export interface Admission {
  space: Buffer
  slot: number
}

/**
 * Admits file jobs in entry order while their content fits in a ring buffer, fewer than
 * MAX_ENTRIES_IN_FLIGHT wait to be written, and fewer than `concurrency` are compressing.
 * Files are read into the ring, so reading allocates nothing and memory stays at the ring
 * plus smaller deflate outputs. Space is handed out in order and comes back in any order;
 * it is reused once everything before it has come back. One waiter only: the producer.
 */
export class Window {
  private readonly ring: Buffer
  private head = 0
  private used = 0
  /** Ring bytes each admitted slot holds (with any wrap-around gap), oldest first. */
  private readonly sizes: number[] = []
  private readonly returned: boolean[] = []
  /** Slot number of sizes[oldest]. */
  private oldestSlot = 0
  private oldest = 0
  private compressing = 0
  private aborted = false
  private wake: (() => void) | undefined
  private readonly concurrency: number

  constructor(capacity: number, concurrency: number) {
    this.ring = Buffer.allocUnsafeSlow(capacity)
    this.concurrency = concurrency
  }

  /** Space for `bytes` of file content, once there is room; undefined after abort(). */
  async admit(bytes: number): Promise<Admission | undefined> {
    for (;;) {
      if (this.aborted) return undefined
      const room = this.compressing < this.concurrency && this.inFlight() < MAX_ENTRIES_IN_FLIGHT
      const start = room ? this.allocate(bytes) : undefined
      if (start !== undefined) {
        this.compressing++
        const slot = this.oldestSlot + this.sizes.length - this.oldest - 1
        return { space: this.ring.subarray(start, start + bytes), slot }
      }
      await new Promise<void>(resolve => (this.wake = resolve))
    }
  }

  /** A job finished compressing: its slot frees, its ring space stays until written. */
  compressed(): void {
    this.compressing--
    this.notify()
  }

  /** The slot's content has been written out (or copied) and its space may be reused. */
  written(slot: number): void {
    this.returned[this.oldest + slot - this.oldestSlot] = true
    while (this.oldest < this.sizes.length && this.returned[this.oldest]) {
      this.used -= this.sizes[this.oldest++]
      this.oldestSlot++
    }
    if (this.oldest === this.sizes.length) {
      this.sizes.length = 0
      this.returned.length = 0
      this.oldest = 0
    }
    if (this.used === 0) this.head = 0
    this.notify()
  }

  abort(): void {
    this.aborted = true
    this.notify()
  }

  private inFlight(): number {
    return this.sizes.length - this.oldest
  }

  private allocate(bytes: number): number | undefined {
    let start = this.head
    let gap = 0
    if (start + bytes > this.ring.length) {
      gap = this.ring.length - start
      start = 0
    }
    if (this.used + gap + bytes > this.ring.length) return undefined
    this.head = start + bytes
    this.used += gap + bytes
    this.sizes.push(gap + bytes)
    this.returned.push(false)
    return start
  }

  private notify(): void {
    const wake = this.wake
    this.wake = undefined
    wake?.()
  }
}
