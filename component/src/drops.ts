/**
 * Counts the messages a frame refused, by reason, and shows the counts as data attributes
 * on its root element (`data-dropped-foreign`, ...), where the browser tests read them.
 * Nothing about a dropped message is kept: only that it arrived and why it was refused.
 */
// "unexpected": well-formed, from the right window, but not what the frame's state allows: an
// answer to a run the host did not start last, a second boot of the sandbox's engine.
export type DropReason = "foreign" | "malformed" | "oversized" | "unexpected";

export class DropCounter {
  private readonly counts: Record<DropReason, number> = { foreign: 0, malformed: 0, oversized: 0, unexpected: 0 };

  constructor(private readonly frame: string) {
    for (const reason of Object.keys(this.counts) as DropReason[]) this.show(reason);
  }

  drop(reason: DropReason): void {
    this.counts[reason] += 1;
    this.show(reason);
    // Once per reason: a flood of messages must not also flood the console.
    if (this.counts[reason] === 1) console.warn(`streamlit-secure-context ${this.frame}: dropping ${reason} messages`);
  }

  private show(reason: DropReason): void {
    document.documentElement.dataset[`dropped${reason[0].toUpperCase()}${reason.slice(1)}`] = String(this.counts[reason]);
  }
}
