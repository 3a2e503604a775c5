// What the students read of a text: CJK text without spaces, emoji, NFC and NFD spellings of one word.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_FEATURIZER, featureHashes, hasWord, tokenize, wordSpans } from '../../src/training/featurize';
import { explanationSegments } from '../../src/review/explanation';

test('Chinese and Japanese text (no spaces) is read character by character, not as one word per sentence', () => {
  assert.deepEqual(tokenize('中国经济增长放缓'), ['中', '国', '经', '济', '增', '长', '放', '缓']);
  assert.deepEqual(tokenize('東京へ行きました'), ['東', '京', 'へ', '行', 'き', 'ま', 'し', 'た']);
  // Two texts sharing words share features: before, each sentence was one feature of its own.
  const a = new Set(featureHashes('中国经济增长', DEFAULT_FEATURIZER));
  assert.ok(featureHashes('中国经济放缓', DEFAULT_FEATURIZER).some((hash) => a.has(hash)));
  // Korean and Latin keep their space-separated words.
  assert.deepEqual(tokenize('한국어 텍스트 Hello World'), ['한국어', '텍스트', 'hello', 'world']);
});

test('emoji are words, so an emoji-only text still has features', () => {
  assert.deepEqual(tokenize('😀😀🎉'), ['😀', '😀', '🎉']);
  assert.deepEqual(tokenize('great👍'), ['great', '👍']);
  assert.ok(featureHashes('😀🎉', DEFAULT_FEATURIZER).length > 0);
  assert.deepEqual(tokenize('!!! ... ---'), []);
});

test('a word spelt in NFC and in NFD is one word (before, NFD "café" was read as "cafe")', () => {
  const nfc = 'Café au lait'.normalize('NFC');
  const nfd = 'Café au lait'.normalize('NFD');
  assert.notEqual(nfc, nfd);
  assert.deepEqual(tokenize(nfd), tokenize(nfc));
  assert.deepEqual(tokenize(nfc), ['café', 'au', 'lait']);
});

test('ASCII text reads as before: lower-cased runs of letters and digits; numbers and URLs give words', () => {
  assert.deepEqual(tokenize('Update 1: Vivendi, Messier Are Fined \\$1.35 Million'), ['update', '1', 'vivendi', 'messier', 'are', 'fined', '1', '35', 'million']);
  assert.deepEqual(tokenize('https://example.com/a?b=c 12345'), ['https', 'example', 'com', 'a', 'b', 'c', '12345']);
});

test('the marked words of the review panel are the words the students read, on every script', () => {
  const text = 'Café'.normalize('NFD') + ' 中国 😀 İstanbul';
  assert.deepEqual(wordSpans(text).map((span) => span.word), tokenize(text));
  for (const span of wordSpans(text)) assert.equal(span.end - span.start > 0, true);
  const segments = explanationSegments('我爱北京 ok', { words: [['北', 0.5]], against: [] });
  assert.deepEqual(segments, [{ text: '我爱' }, { text: '北', word: '北', contribution: 0.5, direction: 'towards' }, { text: '京 ok' }]);
});

test('hasWord agrees with tokenize', () => {
  for (const text of ['', '!!!', 'a', '😀', '中', '\u0301', ' - 1 -', '...é']) assert.equal(hasWord(text), tokenize(text).length > 0, JSON.stringify(text));
});

test('a CJK run that starts with Latin letters or digits is read character by character too (dates, brand names)', () => {
  // "2024年3月15日" and "iPhone手机" were one feature each: the run began with an ASCII character.
  assert.deepEqual(tokenize('2024年3月15日'), ['2024', '年', '3', '月', '15', '日']);
  assert.deepEqual(tokenize('iPhone手机很好'), ['iphone', '手', '机', '很', '好']);
  assert.deepEqual(tokenize('我爱iPhone'), ['我', '爱', 'iphone']);
  const text = '2024年 iPhone手机';
  assert.deepEqual(wordSpans(text).map((span) => span.word), tokenize(text));
});

test('an emoji variation selector is no word of its own (it made every such emoji two features, and a text of it "had a word")', () => {
  assert.deepEqual(tokenize('❤️ love'), ['❤', 'love']);
  assert.deepEqual(tokenize('❤︎'), ['❤']);
  assert.deepEqual(tokenize('☀️☀️'), ['☀', '☀']);
  assert.equal(hasWord('\ufe0f'), false);
  assert.deepEqual(tokenize('\ufe0f'), []);
  // A keycap keeps its digit as the word, as before.
  assert.equal(tokenize('1️⃣').length, 1);
  const text = 'ok ❤️ 2024年';
  assert.deepEqual(wordSpans(text).map((span) => span.word), tokenize(text));
});
