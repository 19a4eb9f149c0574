/**
 * Packing for continued pre-training (BRIEF §2.2 stage 1): every document gets an EOS and the token
 * stream is cut into fixed-length blocks, so no compute is spent on padding. The last partial block is
 * dropped and counted (never silently): callers report `droppedTokens`.
 */

export interface PackedBlocks {
  /** (numBlocks, blockSize) token ids, row-major */
  ids: Int32Array;
  numBlocks: number;
  blockSize: number;
  documents: number;
  totalTokens: number;
  droppedTokens: number;
}

export function packDocuments(docs: Iterable<readonly number[]>, blockSize: number, eosId: number): PackedBlocks {
  if (!Number.isInteger(blockSize) || blockSize < 2) throw new RangeError(`blockSize must be an integer >= 2, got ${blockSize}`);
  const stream: number[] = [];
  let documents = 0;
  for (const doc of docs) {
    for (const id of doc) stream.push(id);
    stream.push(eosId);
    documents++;
  }
  const numBlocks = Math.floor(stream.length / blockSize);
  const ids = Int32Array.from(stream.slice(0, numBlocks * blockSize));
  return { ids, numBlocks, blockSize, documents, totalTokens: stream.length, droppedTokens: stream.length - numBlocks * blockSize };
}

/**
 * Deterministically hold out every `every`-th block (e.g. 20 → 5%) as validation data; blocks keep
 * their order. With fewer than `every` blocks nothing is held out.
 */
export function splitBlocks(data: PackedBlocks, every: number): { train: PackedBlocks; validation: PackedBlocks } {
  if (!Number.isInteger(every) || every < 2) throw new RangeError(`every must be an integer >= 2, got ${every}`);
  const T = data.blockSize;
  const trainRows: number[] = [];
  const valRows: number[] = [];
  for (let b = 0; b < data.numBlocks; b++) (b % every === every - 1 ? valRows : trainRows).push(b);
  const take = (rows: number[]): PackedBlocks => {
    const ids = new Int32Array(rows.length * T);
    rows.forEach((r, i) => ids.set(data.ids.subarray(r * T, (r + 1) * T), i * T));
    return { ...data, ids, numBlocks: rows.length, totalTokens: rows.length * T, droppedTokens: 0 };
  };
  return { train: take(trainRows), validation: take(valRows) };
}
