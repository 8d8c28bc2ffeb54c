// One entry of a replica's change log: the key and the sequence number its newest change got.
// It lives in core because the anti-entropy session's "recent" mode reads the log; the stores
// (engine/store/) keep it durable.

export interface Change {
  readonly key: string;
  readonly seq: number;
}
