// The paired devices' watermarks (engine/core/holds.ts), kept in notes.db beside the change log
// they point into, and cached: the notes list asks for them on every page.

import { advance, type Proof, type Watermark } from './core/holds.ts';
import type { Storage } from './store/store.ts';

export class WatermarkBook {
  private readonly storage: Storage;
  private readonly marks: Map<string, Watermark>;

  constructor(storage: Storage) {
    this.storage = storage;
    this.marks = new Map(storage.watermarks().map((w) => [w.peer, w]));
  }

  get(peer: string): Watermark | undefined {
    return this.marks.get(peer);
  }

  /** Applies a proof; persists and returns true when the watermark moved or was re-verified. */
  prove(proof: Proof): boolean {
    const before = this.marks.get(proof.peer);
    const after = advance(before, proof, this.storage.seq());
    if (after === before || after === undefined) return false;
    this.storage.commit({ puts: [], watermarks: [after] });
    this.marks.set(proof.peer, after);
    return true;
  }
}
