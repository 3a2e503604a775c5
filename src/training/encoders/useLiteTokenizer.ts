/**
 * @license
 * Copyright 2019 Google LLC. All Rights Reserved.
 * Licensed under the Apache License, Version 2.0 (the "License");
 * you may not use this file except in compliance with the License.
 * You may obtain a copy of the License at
 *
 * http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS,
 * WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 * See the License for the specific language governing permissions and
 * limitations under the License.
 * =============================================================================
 *
 * The sentencepiece-like tokenizer of Universal Sentence Encoder lite, ported to TypeScript from
 * @tensorflow-models/universal-sentence-encoder 1.3.3 (src/tokenizer/index.ts and trie.ts, Apache-2.0; the same code
 * is in @energetic-ai/embeddings 0.2.0). Same results token for token; changed: a Map per trie node (a plain object
 * keyed by arbitrary characters is unsafe), and the prefix search walks from an index instead of copying the tail of
 * the text at every position.
 */

const SEPARATOR = '\u2581'; // '▁', sentencepiece's word boundary
/** The first pieces of the vocabulary are unk, control symbols and user-defined symbols: never matched. */
const RESERVED_SYMBOLS_COUNT = 6;

/** The vocabulary as vocab.json lists it: [piece, score] per id. */
export type UseVocabulary = readonly (readonly [string, number | null])[];

interface TrieNode {
  children: Map<string, TrieNode>;
  /** Vocabulary id of the piece ending here, or -1. */
  id: number;
  score: number;
  /** Length of the piece in code points. */
  length: number;
}

const newNode = (length: number): TrieNode => ({ children: new Map(), id: -1, score: 0, length });

export class UseTokenizer {
  private readonly root = newNode(0);
  /** Length in code points of each vocabulary piece. */
  private readonly pieceLength: Int32Array;

  constructor(vocabulary: UseVocabulary) {
    this.pieceLength = new Int32Array(vocabulary.length);
    for (let id = 0; id < vocabulary.length; id++) {
      const entry = vocabulary[id];
      // vocab.json has a null score for the pieces holding ':' (user-defined symbols); the original adds it as 0.
      if (!Array.isArray(entry) || typeof entry[0] !== 'string' || (typeof entry[1] !== 'number' && entry[1] !== null)) throw new Error(`vocabulary entry ${id} is not [piece, score]`);
      this.pieceLength[id] = [...entry[0]].length;
    }
    for (let id = RESERVED_SYMBOLS_COUNT; id < vocabulary.length; id++) {
      const [piece, score] = vocabulary[id];
      let node = this.root;
      for (const symbol of piece) {
        let child = node.children.get(symbol);
        if (!child) {
          child = newNode(node.length + 1);
          node.children.set(symbol, child);
        }
        node = child;
      }
      if (node !== this.root) {
        node.id = id;
        node.score = score ?? 0;
      }
    }
  }

  /** Vocabulary ids of a text: the best-scoring segmentation (Viterbi), consecutive unknowns merged into one id 0. */
  encode(text: string): number[] {
    const normalized = text.normalize('NFKC');
    const input = normalized.length > 0 ? SEPARATOR + normalized.replace(/ /g, SEPARATOR) : normalized;
    const symbols = [...input];
    const n = symbols.length;
    const best = new Float64Array(n + 1);
    const words = new Int32Array(n + 1);
    // The lattice: for each end position, the pieces (id, score, length) that end there, in order of start.
    const ending: { id: number; score: number; length: number }[][] = Array.from({ length: n + 1 }, () => []);
    for (let start = 0; start < n; start++) {
      let node = this.root.children.get(symbols[start]);
      let found = false;
      for (let i = start; i < n && node; i++) {
        if (node.id >= 0) {
          ending[start + node.length].push({ id: node.id, score: node.score, length: node.length });
          found = true;
        }
        node = i + 1 < n ? node.children.get(symbols[i + 1]) : undefined;
      }
      // No piece starts with this character: an unknown of length 1 (id 0, score 0).
      if (!found) ending[start + 1].push({ id: 0, score: 0, length: 1 });
    }
    // Sorted by start as the original's `for (startPos in nodes[endPos])` visits integer keys in increasing order.
    for (let end = 0; end <= n; end++) {
      const pieces = ending[end].sort((a, b) => b.length - a.length);
      for (const piece of pieces) {
        const score = piece.score + best[end - piece.length];
        if (best[end] === 0 || score >= best[end]) {
          best[end] = score;
          words[end] = piece.id;
        }
      }
    }
    const results: number[] = [];
    let at = n;
    while (at > 0) {
      results.push(words[at]);
      at -= words[at] === 0 ? 1 : this.pieceLength[words[at]];
    }
    const merged: number[] = [];
    let previousUnknown = false;
    for (const id of results) {
      if (!(previousUnknown && id === 0)) merged.push(id);
      previousUnknown = id === 0;
    }
    return merged.reverse();
  }
}
