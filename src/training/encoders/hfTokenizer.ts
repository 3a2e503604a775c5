/**
 * The part of a HuggingFace `tokenizers` tokenizer.json that Model2Vec models use, in plain TypeScript: the added
 * tokens, the normalizer, the pre-tokenizer and a WordPiece (or WordLevel) model, encoding without special tokens
 * (`encode(text, add_special_tokens=False)`, what model2vec's StaticModel.tokenize calls). The rules follow the Rust
 * crate (huggingface/tokenizers: normalizers/bert.rs, pre_tokenizers/bert.rs, models/wordpiece, added_vocabulary.rs).
 * Anything else (Unigram or BPE models, Metaspace or ByteLevel pre-tokenizers, Precompiled normalizers, padding) fails
 * when the file is read, with the file and the part named.
 */

export class TokenizerFileError extends Error {
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = 'TokenizerFileError';
  }
}

export interface Tokenizer {
  /** Distinct tokens (model vocabulary and added tokens), as `len(tokenizer.get_vocab())`. */
  vocabSize: number;
  /** Largest token id. */
  maxId: number;
  /** The model's unknown token's id (model2vec drops it from every text), if the model has one. */
  unkId: number | undefined;
  /** Median length of the tokens in code points, floored (model2vec's median_token_length). */
  medianTokenLength: number;
  /** Token ids of a text, no special tokens added; truncated as tokenizer.json's `truncation` says. */
  encode(text: string): number[];
  /** What the tokenizer is made of, e.g. `WordPiece/BertNormalizer/BertPreTokenizer`. */
  describe: string;
}

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

// ---------------------------------------------------------------------------------------------------------------
// Normalizers

type Normalize = (text: string) => string;

/** CJK Unified Ideographs and their extensions, as bert.rs is_chinese_char. */
const CHINESE = /[\u4E00-\u9FFF\u3400-\u4DBF\uF900-\uFAFF\u{20000}-\u{2A6DF}\u{2A700}-\u{2B73F}\u{2B740}-\u{2B81F}\u{2B920}-\u{2CEAF}\u{2F800}-\u{2FA1F}]/gu;
/** Control (Unicode category C), NUL and U+FFFD, except tab, newline and carriage return (bert.rs do_clean_text). */
const CONTROL = /[^\P{C}\t\n\r]|\uFFFD/gu;
const WHITESPACE = /\p{White_Space}/gu;
const NONSPACING_MARK = /\p{Mn}/gu;

/** Rust's char::to_lowercase, one character at a time: as toLowerCase, except that Σ is always σ (no final sigma). */
function lowercase(text: string): string {
  return (text.includes('Σ') ? text.replace(/Σ/g, 'σ') : text).toLowerCase();
}

function bertNormalizer(spec: Json): Normalize {
  const cleanText = spec.clean_text !== false;
  const chinese = spec.handle_chinese_chars !== false;
  const lower = spec.lowercase !== false;
  const stripAccents = typeof spec.strip_accents === 'boolean' ? spec.strip_accents : lower;
  return (text) => {
    if (cleanText) text = text.replace(CONTROL, '').replace(WHITESPACE, ' ');
    if (chinese) text = text.replace(CHINESE, ' $& ');
    if (stripAccents) text = text.normalize('NFD').replace(NONSPACING_MARK, '');
    if (lower) text = lowercase(text);
    return text;
  };
}

/** Sequences nest no deeper than this (real tokenizers nest one or two; a deeper file would overflow the stack). */
const MAX_SEQUENCE_DEPTH = 16;

const NORMALIZERS = ['BertNormalizer', 'Lowercase', 'StripAccents', 'NFC', 'NFD', 'NFKC', 'NFKD', 'Sequence'] as const;

function makeNormalizer(spec: unknown, fail: (problem: string) => never, where = 'normalizer', depth = 0): { normalize: Normalize; names: string[] } {
  if (spec === null || spec === undefined) return { normalize: (text) => text, names: [] };
  if (!isObject(spec) || typeof spec.type !== 'string') fail(`${where} must be an object with a type`);
  const type = spec.type as string;
  switch (type) {
    case 'BertNormalizer':
      return { normalize: bertNormalizer(spec), names: [type] };
    case 'Lowercase':
      return { normalize: lowercase, names: [type] };
    case 'StripAccents':
      return { normalize: (text) => text.replace(NONSPACING_MARK, ''), names: [type] };
    case 'NFC':
    case 'NFD':
    case 'NFKC':
    case 'NFKD':
      return { normalize: (text) => text.normalize(type), names: [type] };
    case 'Sequence': {
      if (!Array.isArray(spec.normalizers)) fail(`${where}.normalizers must be a list`);
      if (depth >= MAX_SEQUENCE_DEPTH) fail(`${where.split('.')[0]}: Sequences nest more than ${MAX_SEQUENCE_DEPTH} deep`);
      const parts = (spec.normalizers as unknown[]).map((part, i) => makeNormalizer(part, fail, `${where}.normalizers[${i}]`, depth + 1));
      return { normalize: (text) => parts.reduce((t, part) => part.normalize(t), text), names: parts.flatMap((part) => part.names) };
    }
    default:
      return fail(`${where} type ${JSON.stringify(type)} is not supported (PeerKD reads ${NORMALIZERS.join(', ')})`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Pre-tokenizers

type PreTokenize = (text: string) => string[];

/** bert.rs is_bert_punc: ASCII punctuation (symbols such as $ + < = > ^ ` | ~ included) or Unicode punctuation. */
const BERT_PUNCTUATION = '!-\\/:-@\\[-\\x60{-~\\p{P}';
/** A punctuation character alone, or a run of characters that are neither punctuation nor whitespace. */
const BERT_PIECES = new RegExp(`[${BERT_PUNCTUATION}]|[^${BERT_PUNCTUATION}\\p{White_Space}]+`, 'gu');
const NON_WHITESPACE = /\P{White_Space}+/gu;
/** The Rust regex `\w+|[^\w\s]+` of the Whitespace pre-tokenizer, with Unicode \w and \s. */
const WORD = String.raw`\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}`;
const WHITESPACE_PIECES = new RegExp(`[${WORD}]+|[^${WORD}\\p{White_Space}]+`, 'gu');

const matches = (pattern: RegExp): PreTokenize => (text) => text.match(pattern) ?? [];
const PRE_TOKENIZERS = ['BertPreTokenizer', 'WhitespaceSplit', 'Whitespace', 'Sequence'] as const;

function makePreTokenizer(spec: unknown, fail: (problem: string) => never, where = 'pre_tokenizer', depth = 0): { preTokenize: PreTokenize; names: string[] } {
  if (spec === null || spec === undefined) return { preTokenize: (text) => (text ? [text] : []), names: [] };
  if (!isObject(spec) || typeof spec.type !== 'string') fail(`${where} must be an object with a type`);
  const type = spec.type as string;
  switch (type) {
    case 'BertPreTokenizer':
      return { preTokenize: matches(BERT_PIECES), names: [type] };
    case 'WhitespaceSplit':
      return { preTokenize: matches(NON_WHITESPACE), names: [type] };
    case 'Whitespace':
      return { preTokenize: matches(WHITESPACE_PIECES), names: [type] };
    case 'Sequence': {
      if (!Array.isArray(spec.pretokenizers)) fail(`${where}.pretokenizers must be a list`);
      if (depth >= MAX_SEQUENCE_DEPTH) fail(`${where.split('.')[0]}: Sequences nest more than ${MAX_SEQUENCE_DEPTH} deep`);
      const parts = (spec.pretokenizers as unknown[]).map((part, i) => makePreTokenizer(part, fail, `${where}.pretokenizers[${i}]`, depth + 1));
      return {
        preTokenize: (text) => parts.reduce<string[]>((pieces, part) => pieces.flatMap(part.preTokenize), [text]),
        names: parts.flatMap((part) => part.names),
      };
    }
    default:
      return fail(`${where} type ${JSON.stringify(type)} is not supported (PeerKD reads ${PRE_TOKENIZERS.join(', ')})`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Models

interface Model {
  vocab: Map<string, number>;
  unkToken: string | undefined;
  /** Ids of one pre-tokenized word. */
  tokenize(word: string, out: number[]): void;
  name: string;
}

function readVocab(spec: Json, fail: (problem: string) => never): Map<string, number> {
  if (!isObject(spec.vocab)) fail(`model.vocab must be an object of token → id (model type ${spec.type})`);
  const vocab = new Map<string, number>();
  for (const [token, id] of Object.entries(spec.vocab as Json)) {
    if (!Number.isInteger(id) || (id as number) < 0) fail(`model.vocab: the id of ${JSON.stringify(token)} must be a non-negative integer, got ${JSON.stringify(id)}`);
    vocab.set(token, id as number);
  }
  if (vocab.size === 0) fail('model.vocab is empty');
  return vocab;
}

/**
 * Tokens by their UTF-16 units: node 0 is the root; the edges (node × 65536 + unit → child) in a few Maps, by node,
 * since one Map holds at most 2^24 entries and a multilingual vocabulary's prefixes can come near that.
 */
class TokenTrie {
  private readonly shards = Array.from({ length: 16 }, () => new Map<number, number>());
  private readonly ids: number[] = [-1];

  insert(token: string, id: number): void {
    let node = 0;
    for (let i = 0; i < token.length; i++) {
      const edges = this.shards[node & 15];
      const key = node * 65536 + token.charCodeAt(i);
      let next = edges.get(key);
      if (next === undefined) {
        next = this.ids.length;
        this.ids.push(-1);
        edges.set(key, next);
      }
      node = next;
    }
    if (this.ids[node] < 0) this.ids[node] = id;
  }

  /** The child of `node` by `unit`, or -1. */
  child(node: number, unit: number): number {
    return this.shards[node & 15].get(node * 65536 + unit) ?? -1;
  }

  /** The id of the token ending at `node`, or -1. */
  id(node: number): number {
    return this.ids[node];
  }
}

/** Longest token (UTF-16 units) up to which WordPiece searches by slices; beyond, by a trie (see wordPiece). */
const TRIE_FROM_TOKEN_LENGTH = 64;

/** Words seen before are not tokenized again (the Rust crate caches the same way); the cache empties when full. */
const WORD_CACHE_SIZE = 100_000;

function wordPiece(spec: Json, fail: (problem: string) => never): Model {
  const vocab = readVocab(spec, fail);
  const unkToken = typeof spec.unk_token === 'string' ? spec.unk_token : '[UNK]';
  const prefix = typeof spec.continuing_subword_prefix === 'string' ? spec.continuing_subword_prefix : '##';
  const maxChars = Number.isInteger(spec.max_input_chars_per_word) ? (spec.max_input_chars_per_word as number) : 100;
  // Every word is longer than 0 characters: each would be the unknown token, which model2vec drops, so every text would
  // get a vector of zeros (the Rust crate reads the field as an unsigned integer and refuses a negative one).
  if (maxChars < 1) fail(`model.max_input_chars_per_word must be a positive integer (usually 100), got ${maxChars}: every word would be the unknown token`);
  const unkId = vocab.get(unkToken);
  if (unkId === undefined) fail(`model.unk_token ${JSON.stringify(unkToken)} is not in model.vocab`);
  // The greedy longest match. With tokens of real models (the longest has a few dozen characters) it tries every end
  // from start + longest token downwards, one Map lookup each, which needs no memory beyond the vocabulary. A
  // tokenizer.json with a token longer than TRIE_FROM_TOKEN_LENGTH (one of 1,000 characters made that about a billion
  // character steps per text) gets a trie instead: the walk stops where no token goes on, so each start costs the
  // length of its longest match, at the price of a node per distinct token prefix.
  let longest = 0;
  for (const token of vocab.keys()) longest = Math.max(longest, token.length);
  const cache = new Map<string, number[]>();

  const sliceSearch = (word: string, start: number): { id: number; end: number } | undefined => {
    let end = Math.min(word.length, start + longest);
    while (end > start) {
      if (end < word.length && isHighSurrogate(word.charCodeAt(end - 1))) end--;
      const piece = word.slice(start, end);
      const found = vocab.get(start > 0 ? prefix + piece : piece);
      if (found !== undefined) return { id: found, end };
      end -= end - 2 >= start && isLowSurrogate(word.charCodeAt(end - 1)) && isHighSurrogate(word.charCodeAt(end - 2)) ? 2 : 1;
    }
    return undefined;
  };

  let search = sliceSearch;
  if (longest > TRIE_FROM_TOKEN_LENGTH) {
    const startTrie = new TokenTrie();
    const continuationTrie = new TokenTrie();
    for (const [token, id] of vocab) {
      startTrie.insert(token, id);
      if (token.startsWith(prefix)) continuationTrie.insert(token.slice(prefix.length), id);
    }
    search = (word, start) => {
      const trie = start > 0 ? continuationTrie : startTrie;
      let best: { id: number; end: number } | undefined;
      let node = 0;
      for (let at = start; at < word.length; at++) {
        node = trie.child(node, word.charCodeAt(at));
        if (node < 0) break;
        const end = at + 1;
        const id = trie.id(node);
        // A piece never ends between the two halves of a surrogate pair.
        if (id >= 0 && (end === word.length || !isHighSurrogate(word.charCodeAt(end - 1)))) best = { id, end };
      }
      return best;
    };
  }

  const split = (word: string): number[] => {
    if (word.length > maxChars && [...word].length > maxChars) return [unkId!];
    const ids: number[] = [];
    for (let start = 0; start < word.length; ) {
      const found = search(word, start);
      if (found === undefined) return [unkId!];
      ids.push(found.id);
      start = found.end;
    }
    return ids;
  };

  return {
    vocab,
    unkToken,
    name: 'WordPiece',
    tokenize(word, out) {
      let ids = cache.get(word);
      if (!ids) {
        ids = split(word);
        if (cache.size >= WORD_CACHE_SIZE) cache.clear();
        cache.set(word, ids);
      }
      for (const id of ids) out.push(id);
    },
  };
}

function wordLevel(spec: Json, fail: (problem: string) => never): Model {
  const vocab = readVocab(spec, fail);
  // Without one, the tokenizers crate fails on the first word outside the vocabulary, which a run's texts always have:
  // refused here, when the model is read, rather than midway through a run.
  if (typeof spec.unk_token !== 'string') fail('model.unk_token is missing: a WordLevel model needs one to read a word outside its vocabulary');
  const unkToken = spec.unk_token as string;
  const unkId = vocab.get(unkToken);
  if (unkId === undefined) fail(`model.unk_token ${JSON.stringify(unkToken)} is not in model.vocab`);
  return {
    vocab,
    unkToken,
    name: 'WordLevel',
    tokenize(word, out) {
      out.push(vocab.get(word) ?? unkId!);
    },
  };
}

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff;
const isLowSurrogate = (code: number) => code >= 0xdc00 && code <= 0xdfff;

// ---------------------------------------------------------------------------------------------------------------
// Added tokens (added_vocabulary.rs): matched leftmost-longest before the pre-tokenizer, the non-normalized ones on the
// raw text, the normalized ones on the normalized text. Their lstrip and rstrip options only move whitespace into the
// token's piece, and every pre-tokenizer read here drops whitespace, so they change no id and are not read.

interface AddedToken {
  id: number;
  content: string;
  singleWord: boolean;
  normalized: boolean;
}

interface Piece {
  text: string;
  /** Set when the piece is an added token. */
  id?: number;
}

const STARTS_WITH_WORD = new RegExp(`^[${WORD}]`, 'u');
const ENDS_WITH_WORD = new RegExp(`[${WORD}]$`, 'u');

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

/** Splits `text` on the added tokens of one matcher (find_matches); undefined matcher = no added tokens. */
function splitAdded(text: string, matcher: { pattern: RegExp; byContent: Map<string, AddedToken> } | undefined): Piece[] {
  if (!matcher || !text) return [{ text }];
  const pieces: Piece[] = [];
  const { pattern, byContent } = matcher;
  pattern.lastIndex = 0;
  let offset = 0;
  for (let match = pattern.exec(text); match; match = pattern.exec(text)) {
    const token = byContent.get(match[0])!;
    const start = match.index;
    const stop = start + match[0].length;
    if (token.singleWord && ((start > 0 && ENDS_WITH_WORD.test(text.slice(0, start))) || (stop < text.length && STARTS_WITH_WORD.test(text.slice(stop))))) continue;
    if (offset < start) pieces.push({ text: text.slice(offset, start) });
    pieces.push({ text: text.slice(start, stop), id: token.id });
    offset = stop;
    pattern.lastIndex = stop;
  }
  if (offset < text.length) pieces.push({ text: text.slice(offset) });
  return pieces;
}

function addedMatcher(tokens: { content: string; token: AddedToken }[]): { pattern: RegExp; byContent: Map<string, AddedToken> } | undefined {
  const byContent = new Map<string, AddedToken>();
  for (const { content, token } of tokens) if (content && !byContent.has(content)) byContent.set(content, token);
  if (byContent.size === 0) return undefined;
  // Longest first: at a given position JavaScript takes the first alternative that matches, which is then the longest.
  const contents = [...byContent.keys()].sort((a, b) => b.length - a.length);
  return { pattern: new RegExp(contents.map(escapeRegExp).join('|'), 'gu'), byContent };
}

// ---------------------------------------------------------------------------------------------------------------

/** Reads a tokenizer.json (its text; `file` names it in errors). */
export function parseTokenizer(file: string, json: string): Tokenizer {
  const fail = (problem: string): never => {
    throw new TokenizerFileError(file, problem);
  };
  let spec: unknown;
  try {
    spec = JSON.parse(json);
  } catch (error) {
    return fail(`not valid JSON (${(error as Error).message})`);
  }
  if (!isObject(spec)) return fail('not a tokenizers JSON file (not an object)');
  if (!isObject(spec.model)) return fail('not a tokenizers JSON file (no "model" object)');
  const modelType = spec.model.type ?? (isObject(spec.model.vocab) && 'continuing_subword_prefix' in spec.model ? 'WordPiece' : undefined);
  const model =
    modelType === 'WordPiece'
      ? wordPiece(spec.model, fail)
      : modelType === 'WordLevel'
        ? wordLevel(spec.model, fail)
        : fail(`model type ${JSON.stringify(modelType)} is not supported: PeerKD's static encoder reads WordPiece tokenizers (as in minishlab/potion-base-8M) and WordLevel ones`);
  const normalizer = makeNormalizer(spec.normalizer, fail);
  const preTokenizer = makePreTokenizer(spec.pre_tokenizer, fail);
  if (spec.padding !== null && spec.padding !== undefined) fail('padding is set; a Model2Vec tokenizer pads nothing (set "padding": null)');
  let truncate: ((ids: number[]) => number[]) | undefined;
  if (spec.truncation !== null && spec.truncation !== undefined) {
    const truncation = spec.truncation as Json;
    if (!isObject(truncation) || !Number.isInteger(truncation.max_length) || (truncation.max_length as number) < 1) fail('truncation must be null or have a positive integer max_length');
    const max = truncation.max_length as number;
    truncate = truncation.direction === 'Left' ? (ids) => (ids.length > max ? ids.slice(ids.length - max) : ids) : (ids) => (ids.length > max ? ids.slice(0, max) : ids);
  }

  // The vocabulary as get_vocab(): the model's tokens and the added ones.
  const vocab = new Map(model.vocab);
  const added: AddedToken[] = [];
  if (spec.added_tokens !== undefined && spec.added_tokens !== null) {
    if (!Array.isArray(spec.added_tokens)) fail('added_tokens must be a list');
    (spec.added_tokens as unknown[]).forEach((entry, i) => {
      if (!isObject(entry) || typeof entry.content !== 'string' || !Number.isInteger(entry.id) || (entry.id as number) < 0) {
        fail(`added_tokens[${i}] must have a string content and a non-negative integer id`);
      }
      const token = entry as Json;
      // The tokenizers crate keeps the model's id for a token its vocabulary has (and warns); an id of its own here
      // would be emitted for the token, past the rows the vectors were made for (the two files disagree).
      const modelId = model.vocab.get(token.content as string);
      if (modelId !== undefined && modelId !== token.id) {
        fail(`added_tokens[${i}] gives ${JSON.stringify(token.content)} the id ${token.id as number}, but model.vocab gives it ${modelId}: the file contradicts itself`);
      }
      added.push({
        id: token.id as number,
        content: token.content as string,
        singleWord: token.single_word === true,
        normalized: token.normalized !== undefined ? token.normalized === true : token.special !== true,
      });
      if (!vocab.has(token.content as string)) vocab.set(token.content as string, token.id as number);
    });
  }
  const raw = addedMatcher(added.filter((token) => !token.normalized).map((token) => ({ content: token.content, token })));
  const normalizedMatcher = addedMatcher(added.filter((token) => token.normalized).map((token) => ({ content: normalizer.normalize(token.content), token })));

  let maxId = 0;
  const lengths: number[] = [];
  for (const [token, id] of vocab) {
    maxId = Math.max(maxId, id);
    lengths.push([...token].length);
  }
  lengths.sort((a, b) => a - b);
  const middle = lengths.length >> 1;
  const median = lengths.length % 2 ? lengths[middle] : (lengths[middle - 1] + lengths[middle]) / 2;
  const unkId = model.unkToken === undefined ? undefined : vocab.get(model.unkToken);

  return {
    vocabSize: vocab.size,
    maxId,
    unkId,
    medianTokenLength: Math.floor(median),
    describe: [model.name, ...normalizer.names, ...preTokenizer.names].join('/'),
    encode(text) {
      const ids: number[] = [];
      for (const piece of splitAdded(text, raw)) {
        if (piece.id !== undefined) {
          ids.push(piece.id);
          continue;
        }
        for (const normalized of splitAdded(normalizer.normalize(piece.text), normalizedMatcher)) {
          if (normalized.id !== undefined) ids.push(normalized.id);
          else for (const word of preTokenizer.preTokenize(normalized.text)) model.tokenize(word, ids);
        }
      }
      return truncate ? truncate(ids) : ids;
    },
  };
}
