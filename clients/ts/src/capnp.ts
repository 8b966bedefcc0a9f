// Cap'n Proto's wire format, just what the client protocol's schema (schemas/client.capnp) uses:
// structs with 8-, 16-bit and boolean data fields, text, lists of structs and of 64-bit words,
// in the packed encoding with a segment table (https://capnproto.org/encoding.html). Written by
// hand rather than generated: the schema is small, and this keeps the SDK free of runtime
// dependencies (README, "The binary wire form"). protocol_capnp.ts maps the schema onto it.
//
// The builder allocates objects in the order it is told, into segments as the C++
// MallocMessageBuilder does: for the same first segment size and order of calls, the bytes are
// the node's (the unit tests compare, a message of two segments included). The reader checks every pointer against its segment and counts the words it
// reads (a list of empty structs claiming 2^29 elements costs as much as 2^29 words), and throws
// CapnpError on anything out of bounds; callers turn that into a value.

/** A message that is not valid Cap'n Proto, or not what the schema says. */
export class CapnpError extends Error {}

const WORD = 8;
const TWO_32 = 2 ** 32;
const utf8Decoder = new TextDecoder();  // invalid UTF-8 becomes U+FFFD (Cap'n Proto does not check it)
const utf8Encoder = new TextEncoder();

/** Cap'n Proto's packing of whole words (the encoding's "packed" form), byte-exact with C++'s. */
export function pack(words: Uint8Array): Uint8Array {
  if (words.length % WORD !== 0) throw new RangeError(`pack: ${words.length} bytes is not a whole number of words`);
  const out = new Uint8Array(words.length + Math.ceil(words.length / WORD) * 2 + 2);
  let o = 0;
  let i = 0;
  while (i < words.length) {
    let tag = 0;
    const tagAt = o++;
    for (let b = 0; b < WORD; ++b) {
      if (words[i + b] !== 0) {
        tag |= 1 << b;
        out[o++] = words[i + b];
      }
    }
    out[tagAt] = tag;
    i += WORD;
    if (tag === 0) {
      // Followed by the count of further all-zero words (at most 255).
      let n = 0;
      while (n < 255 && i < words.length && isZeroWord(words, i)) {
        ++n;
        i += WORD;
      }
      out[o++] = n;
    } else if (tag === 0xff) {
      // Followed by the count of further words copied as they are: those with at most one zero
      // byte (packing pays from two zeros on), at most 255 — the C++ writer's rule.
      const start = i;
      let n = 0;
      while (n < 255 && i < words.length && zeroBytes(words, i) < 2) {
        ++n;
        i += WORD;
      }
      out[o++] = n;
      out.set(words.subarray(start, i), o);
      o += i - start;
    }
  }
  return out.slice(0, o);
}

function isZeroWord(b: Uint8Array, at: number): boolean {
  for (let k = 0; k < WORD; ++k) if (b[at + k] !== 0) return false;
  return true;
}

function zeroBytes(b: Uint8Array, at: number): number {
  let n = 0;
  for (let k = 0; k < WORD; ++k) if (b[at + k] === 0) ++n;
  return n;
}

/** The words of a packed message. Throws CapnpError when truncated or over `maxBytes` unpacked. */
export function unpack(packed: Uint8Array, maxBytes: number): Uint8Array {
  // First the size (a few packed bytes may claim many zero words), then the copy.
  let size = 0;
  for (let i = 0; i < packed.length;) {
    const tag = packed[i++];
    let n = 0;
    for (let b = 0; b < WORD; ++b) if (tag & (1 << b)) ++n;
    i += n;
    size += WORD;
    if (tag === 0 || tag === 0xff) {
      if (i >= packed.length) throw new CapnpError('truncated: a run count is missing');
      const run = packed[i++];
      size += run * WORD;
      if (tag === 0xff) i += run * WORD;
    }
    if (i > packed.length) throw new CapnpError('truncated: the last word is cut short');
    if (size > maxBytes) throw new CapnpError(`unpacks to more than ${maxBytes} bytes`);
  }
  const out = new Uint8Array(size);
  let o = 0;
  for (let i = 0; i < packed.length;) {
    const tag = packed[i++];
    for (let b = 0; b < WORD; ++b) out[o++] = tag & (1 << b) ? packed[i++] : 0;
    if (tag === 0) {
      o += packed[i++] * WORD;
    } else if (tag === 0xff) {
      const n = packed[i++] * WORD;
      out.set(packed.subarray(i, i + n), o);
      i += n;
      o += n;
    }
  }
  return out;
}

function u64(view: DataView, at: number): number {
  const lo = view.getUint32(at, true);
  const hi = view.getUint32(at + 4, true);
  if (hi >= 2 ** 21) throw new CapnpError(`a 64-bit integer above 2^53 - 1 (JavaScript's numbers lose it)`);
  return hi * TWO_32 + lo;
}

function i64(view: DataView, at: number): number {
  const lo = view.getUint32(at, true);
  const hi = view.getInt32(at + 4, true);
  if (hi >= 2 ** 21 || hi < -(2 ** 21)) throw new CapnpError(`a 64-bit integer beyond ±2^53 (JavaScript's numbers lose it)`);
  return hi * TWO_32 + lo;
}

interface Segment {
  view: DataView;
  words: number;
}

/** Where a pointer leads once far pointers are followed: the tag (a struct or list pointer) and its target. */
interface Resolved {
  seg: number;
  /** The pointer word that says what the object is (its offset field is not used). */
  tagLo: number;
  tagHi: number;
  /** The word the object starts at. */
  at: number;
}

/** A struct in a message being read; fields outside its sections read as their defaults. */
export class StructReader {
  constructor(
    private readonly msg: MessageReader,
    private readonly seg: number,
    /** byte offset of the data section */
    private readonly data: number,
    private readonly dataWords: number,
    /** word index of the pointer section */
    private readonly ptrs: number,
    private readonly ptrCount: number,
  ) {}

  private view(): DataView {
    return this.msg.segment(this.seg).view;
  }
  private has(byteOffset: number, bytes: number): boolean {
    return byteOffset + bytes <= this.dataWords * WORD;
  }
  u64(byteOffset: number): number {
    return this.has(byteOffset, 8) ? u64(this.view(), this.data + byteOffset) : 0;
  }
  i64(byteOffset: number): number {
    return this.has(byteOffset, 8) ? i64(this.view(), this.data + byteOffset) : 0;
  }
  f64(byteOffset: number): number {
    return this.has(byteOffset, 8) ? this.view().getFloat64(this.data + byteOffset, true) : 0;
  }
  u16(byteOffset: number): number {
    return this.has(byteOffset, 2) ? this.view().getUint16(this.data + byteOffset, true) : 0;
  }
  bool(bit: number): boolean {
    const byte = bit >> 3;
    return this.has(byte, 1) ? (this.view().getUint8(this.data + byte) & (1 << (bit & 7))) !== 0 : false;
  }
  /** Whether pointer `i` is set (not null). */
  hasPointer(i: number): boolean {
    return i < this.ptrCount && !this.msg.isNull(this.seg, this.ptrs + i);
  }
  /** The struct pointer `i` leads to; null when unset. */
  struct(i: number): StructReader | null {
    return i < this.ptrCount ? this.msg.readStruct(this.seg, this.ptrs + i) : null;
  }
  /** The struct pointer `i` leads to; when unset, a struct whose every field reads its default. */
  structOrDefault(i: number): StructReader {
    return this.struct(i) ?? new StructReader(this.msg, this.seg, 0, 0, 0, 0);
  }
  /** The text pointer `i` leads to; '' when unset. */
  text(i: number): string {
    return i < this.ptrCount ? this.msg.readText(this.seg, this.ptrs + i) : '';
  }
  /** The list of structs pointer `i` leads to; [] when unset. */
  structList(i: number): StructReader[] {
    return i < this.ptrCount ? this.msg.readStructList(this.seg, this.ptrs + i) : [];
  }
  /** The List(UInt64) pointer `i` leads to; [] when unset. */
  u64List(i: number): number[] {
    return i < this.ptrCount ? this.msg.readU64List(this.seg, this.ptrs + i) : [];
  }
}

/** An unpacked message: its segment table and segments. */
export class MessageReader {
  private readonly segments: Segment[] = [];
  private budget: number;  // words the reader may still traverse

  constructor(bytes: Uint8Array) {
    if (bytes.length < 8) throw new CapnpError('no segment table');
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const count = view.getUint32(0, true) + 1;
    const tableWords = Math.ceil((4 + 4 * count) / WORD);
    if (count > 512 || tableWords * WORD > bytes.length) throw new CapnpError(`a segment table of ${count} segments is cut short`);
    let at = tableWords * WORD;
    for (let s = 0; s < count; ++s) {
      const words = view.getUint32(4 + 4 * s, true);
      if (at + words * WORD > bytes.length) throw new CapnpError(`segment ${s} (${words} words) is cut short`);
      this.segments.push({ view: new DataView(bytes.buffer, bytes.byteOffset + at, words * WORD), words });
      at += words * WORD;
    }
    if (at !== bytes.length) throw new CapnpError(`${bytes.length - at} trailing bytes after the message`);
    if (this.segments[0].words === 0) throw new CapnpError('no root pointer');
    this.budget = 8 * (bytes.length / WORD) + 64;
  }

  segment(i: number): Segment {
    return this.segments[i];
  }

  /** The root struct (a null root reads as an empty struct: every field its default). */
  root(): StructReader {
    return this.readStruct(0, 0) ?? new StructReader(this, 0, 0, 0, 0, 0);
  }

  isNull(seg: number, word: number): boolean {
    const v = this.segments[seg].view;
    return v.getUint32(word * WORD, true) === 0 && v.getUint32(word * WORD + 4, true) === 0;
  }

  private spend(words: number): void {
    this.budget -= words;
    if (this.budget < 0) throw new CapnpError('traversal limit exceeded (pointers read the same words again and again)');
  }

  private check(seg: number, at: number, words: number, what: string): void {
    if (at < 0 || at + words > this.segments[seg].words) throw new CapnpError(`${what} out of bounds`);
    this.spend(Math.max(1, words));
  }

  /** Follows pointer word `word` of segment `seg` through far pointers; null if it is null. */
  private resolve(seg: number, word: number): Resolved | null {
    const v = this.segments[seg].view;
    const lo = v.getUint32(word * WORD, true);
    const hi = v.getUint32(word * WORD + 4, true);
    if (lo === 0 && hi === 0) return null;
    const kind = lo & 3;
    if (kind === 0 || kind === 1) return { seg, tagLo: lo, tagHi: hi, at: word + 1 + ((lo | 0) >> 2) };
    if (kind === 3) throw new CapnpError('a capability pointer where data was expected');
    // Far pointer: the landing pad is in segment `hi`, at word `lo >>> 3`.
    const target = hi;
    const pad = lo >>> 3;
    const double = (lo & 4) !== 0;
    if (target >= this.segments.length) throw new CapnpError(`a far pointer to segment ${target}, of ${this.segments.length}`);
    this.check(target, pad, double ? 2 : 1, 'a far pointer\'s landing pad');
    const tv = this.segments[target].view;
    const padLo = tv.getUint32(pad * WORD, true);
    const padHi = tv.getUint32(pad * WORD + 4, true);
    if (!double) {
      if ((padLo & 3) === 2 || (padLo & 3) === 3) throw new CapnpError('a single far pointer landing on another far pointer');
      return { seg: target, tagLo: padLo, tagHi: padHi, at: pad + 1 + ((padLo | 0) >> 2) };
    }
    // Double far: the pad is a far pointer to the object (single) and a tag saying what it is.
    if ((padLo & 7) !== 2) throw new CapnpError('a double far pointer\'s landing pad is not a single far pointer');
    const objSeg = padHi;
    if (objSeg >= this.segments.length) throw new CapnpError(`a landing pad pointing to segment ${objSeg}, of ${this.segments.length}`);
    const tagLo = tv.getUint32((pad + 1) * WORD, true);
    const tagHi = tv.getUint32((pad + 1) * WORD + 4, true);
    if ((tagLo & 3) > 1) throw new CapnpError('a double far pointer\'s tag is not a struct or list pointer');
    return { seg: objSeg, tagLo, tagHi, at: padLo >>> 3 };
  }

  readStruct(seg: number, word: number): StructReader | null {
    const r = this.resolve(seg, word);
    if (!r) return null;
    if ((r.tagLo & 3) !== 0) throw new CapnpError('a list where a struct was expected');
    const dataWords = r.tagHi & 0xffff;
    const ptrCount = r.tagHi >>> 16;
    this.check(r.seg, r.at, dataWords + ptrCount, 'a struct');
    return new StructReader(this, r.seg, r.at * WORD, dataWords, r.at + dataWords, ptrCount);
  }

  /** A list pointer's element size code, element count, and target. */
  private list(seg: number, word: number): { r: Resolved; size: number; count: number } | null {
    const r = this.resolve(seg, word);
    if (!r) return null;
    if ((r.tagLo & 3) !== 1) throw new CapnpError('a struct where a list was expected');
    return { r, size: r.tagHi & 7, count: r.tagHi >>> 3 };
  }

  readText(seg: number, word: number): string {
    const l = this.list(seg, word);
    if (!l) return '';
    if (l.size !== 2) throw new CapnpError(`a list of element size ${l.size} where text (bytes) was expected`);
    this.check(l.r.seg, l.r.at, Math.ceil(l.count / WORD), 'a text');
    const v = this.segments[l.r.seg].view;
    const start = v.byteOffset + l.r.at * WORD;
    if (l.count === 0 || v.getUint8(l.r.at * WORD + l.count - 1) !== 0) throw new CapnpError('a text without its NUL terminator');
    return utf8Decoder.decode(new Uint8Array(v.buffer, start, l.count - 1));
  }

  readStructList(seg: number, word: number): StructReader[] {
    const l = this.list(seg, word);
    if (!l) return [];
    if (l.size !== 7) throw new CapnpError(`a list of element size ${l.size} where a list of structs was expected`);
    // Inline composite: a tag word (struct-pointer shaped, offset = element count), then the elements.
    this.check(l.r.seg, l.r.at, 1 + l.count, 'a list of structs');
    const v = this.segments[l.r.seg].view;
    const tagLo = v.getUint32(l.r.at * WORD, true);
    const tagHi = v.getUint32(l.r.at * WORD + 4, true);
    if ((tagLo & 3) !== 0) throw new CapnpError('a list of structs whose tag is not a struct tag');
    const n = tagLo >>> 2;
    const dataWords = tagHi & 0xffff;
    const ptrCount = tagHi >>> 16;
    const each = dataWords + ptrCount;
    if (n * each > l.count) throw new CapnpError(`a list of ${n} structs of ${each} words in ${l.count} words`);
    this.spend(n);  // empty structs cost a word each, like the C++ reader
    const out: StructReader[] = [];
    for (let i = 0; i < n; ++i) {
      const at = l.r.at + 1 + i * each;
      out.push(new StructReader(this, l.r.seg, at * WORD, dataWords, at + dataWords, ptrCount));
    }
    return out;
  }

  readU64List(seg: number, word: number): number[] {
    const l = this.list(seg, word);
    if (!l) return [];
    if (l.size !== 5) throw new CapnpError(`a list of element size ${l.size} where a List(UInt64) was expected`);
    this.check(l.r.seg, l.r.at, l.count, 'a List(UInt64)');
    const v = this.segments[l.r.seg].view;
    const out: number[] = [];
    for (let i = 0; i < l.count; ++i) out.push(u64(v, (l.r.at + i) * WORD));
    return out;
  }
}

/** Reads a packed message (segment table included). Throws CapnpError. */
export function readPacked(packed: Uint8Array, maxBytes = 64 << 20): MessageReader {
  return new MessageReader(unpack(packed, maxBytes));
}

/** A struct being written; offsets as in protocol_capnp.ts's layouts. */
export class StructBuilder {
  constructor(
    private readonly msg: MessageBuilder,
    private readonly seg: number,
    /** word index of the data section */
    private readonly data: number,
    private readonly dataWords: number,
    /** word index of the pointer section */
    private readonly ptrs: number,
  ) {}

  private view(): DataView {
    return this.msg.segmentView(this.seg);
  }
  private at(byteOffset: number, bytes: number): number {
    if (byteOffset + bytes > this.dataWords * WORD) throw new RangeError(`field at byte ${byteOffset} outside a ${this.dataWords}-word data section`);
    return this.data * WORD + byteOffset;
  }
  setU64(byteOffset: number, v: number): this {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`${v} is not an integer in [0, 2^53)`);
    const at = this.at(byteOffset, 8);
    this.view().setUint32(at, v % TWO_32, true);
    this.view().setUint32(at + 4, Math.floor(v / TWO_32), true);
    return this;
  }
  setI64(byteOffset: number, v: number): this {
    if (!Number.isSafeInteger(v)) throw new RangeError(`${v} is not an integer in (-2^53, 2^53)`);
    const at = this.at(byteOffset, 8);
    const hi = Math.floor(v / TWO_32);
    this.view().setUint32(at, v - hi * TWO_32, true);
    this.view().setInt32(at + 4, hi, true);
    return this;
  }
  setF64(byteOffset: number, v: number): this {
    this.view().setFloat64(this.at(byteOffset, 8), v, true);
    return this;
  }
  setU16(byteOffset: number, v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new RangeError(`${v} is not a UInt16`);
    this.view().setUint16(this.at(byteOffset, 2), v, true);
    return this;
  }
  setBool(bit: number, v: boolean): this {
    const at = this.at(bit >> 3, 1);
    const old = this.view().getUint8(at);
    const mask = 1 << (bit & 7);
    this.view().setUint8(at, v ? old | mask : old & ~mask);
    return this;
  }
  /** Allocates a struct and points pointer `i` at it. */
  initStruct(i: number, dataWords: number, ptrCount: number): StructBuilder {
    const { seg, at } = this.msg.place(this.seg, this.ptrs + i, dataWords + ptrCount, 0, dataWords | (ptrCount << 16));
    return new StructBuilder(this.msg, seg, at, dataWords, at + dataWords);
  }
  /** Allocates a text (UTF-8 and a NUL) and points pointer `i` at it. */
  setText(i: number, s: string): this {
    const bytes = utf8Encoder.encode(s);
    const { seg, at } = this.msg.place(this.seg, this.ptrs + i, Math.ceil((bytes.length + 1) / WORD), 1, listHi(2, bytes.length + 1));
    new Uint8Array(this.msg.segmentView(seg).buffer).set(bytes, at * WORD);
    return this;
  }
  /** Allocates a list of `n` structs (inline composite) and points pointer `i` at it. */
  initStructList(i: number, n: number, dataWords: number, ptrCount: number): StructBuilder[] {
    const each = dataWords + ptrCount;
    const { seg, at } = this.msg.place(this.seg, this.ptrs + i, 1 + n * each, 1, listHi(7, n * each));
    const v = this.msg.segmentView(seg);
    v.setUint32(at * WORD, n << 2, true);  // the tag: a struct pointer whose offset is the count
    v.setUint32(at * WORD + 4, dataWords | (ptrCount << 16), true);
    const out: StructBuilder[] = [];
    for (let k = 0; k < n; ++k) {
      const s = at + 1 + k * each;
      out.push(new StructBuilder(this.msg, seg, s, dataWords, s + dataWords));
    }
    return out;
  }
  /** Allocates a List(UInt64) of `values` and points pointer `i` at it. */
  setU64List(i: number, values: readonly number[]): this {
    const { seg, at } = this.msg.place(this.seg, this.ptrs + i, values.length, 1, listHi(5, values.length));
    const words = new StructBuilder(this.msg, seg, at, values.length, at + values.length);
    values.forEach((v, k) => words.setU64(k * WORD, v));
    return this;
  }
}

function listHi(sizeCode: number, count: number): number {
  if (count >= 2 ** 29) throw new RangeError(`a list of ${count} elements`);
  return (sizeCode | (count << 3)) >>> 0;
}

interface BuilderSegment {
  view: DataView;
  capacity: number;  // words
  used: number;      // words
}

/**
 * A message being written, segment by segment as C++'s MallocMessageBuilder(firstSegmentWords)
 * with its default growth does: an object goes into the segment of the pointer to it if it fits,
 * else into the newest segment, else into a new one of max(its size + 1, the total so far); out
 * of its pointer's segment it is reached through a far pointer and a landing pad just before it.
 */
export class MessageBuilder {
  private readonly segments: BuilderSegment[] = [];
  private withSpace = 0;  // the segment tried after the pointer's own: the newest
  private nextSize: number;

  constructor(firstSegmentWords: number) {
    this.segments.push(segment(firstSegmentWords));
    this.segments[0].used = 1;  // the root pointer
    this.nextSize = firstSegmentWords;
  }

  segmentView(seg: number): DataView {
    return this.segments[seg].view;
  }

  /**
   * Allocates `words` zeroed words for an object that pointer `ref` of segment `refSeg` will
   * lead to, and writes that pointer: `kind` 0 (struct) or 1 (list), `hi` its upper half (sizes).
   */
  place(refSeg: number, ref: number, words: number, kind: 0 | 1, hi: number): { seg: number; at: number } {
    const own = this.segments[refSeg];
    if (own.used + words <= own.capacity) {
      const at = own.used;
      own.used += words;
      this.pointer(refSeg, ref, kind | ((at - ref - 1) << 2), hi);
      return { seg: refSeg, at };
    }
    let seg = this.withSpace;
    if (this.segments[seg].used + words + 1 > this.segments[seg].capacity) {
      const size = Math.max(words + 1, this.nextSize);
      this.nextSize = Math.min(this.nextSize + size, 2 ** 29 - 1);
      seg = this.segments.push(segment(size)) - 1;
      this.withSpace = seg;
    }
    const target = this.segments[seg];
    const pad = target.used;
    target.used += words + 1;
    this.pointer(refSeg, ref, 2 | (pad << 3), seg);  // a single far pointer to the landing pad
    this.pointer(seg, pad, kind, hi);                 // the pad: the object right after it
    return { seg, at: pad + 1 };
  }

  private pointer(seg: number, word: number, lo: number, hi: number): void {
    const v = this.segments[seg].view;
    v.setUint32(word * WORD, lo >>> 0, true);
    v.setUint32(word * WORD + 4, hi >>> 0, true);
  }

  initRoot(dataWords: number, ptrCount: number): StructBuilder {
    const { seg, at } = this.place(0, 0, dataWords + ptrCount, 0, dataWords | (ptrCount << 16));
    return new StructBuilder(this, seg, at, dataWords, at + dataWords);
  }

  /** The message with its segment table, packed. */
  toPacked(): Uint8Array {
    const n = this.segments.length;
    const table = Math.ceil((4 + 4 * n) / WORD) * WORD;
    const flat = new Uint8Array(table + this.segments.reduce((sum, s) => sum + s.used * WORD, 0));
    const v = new DataView(flat.buffer);
    v.setUint32(0, n - 1, true);
    let at = table;
    this.segments.forEach((s, k) => {
      v.setUint32(4 + 4 * k, s.used, true);
      flat.set(new Uint8Array(s.view.buffer, 0, s.used * WORD), at);
      at += s.used * WORD;
    });
    return pack(flat);
  }
}

function segment(words: number): BuilderSegment {
  return { view: new DataView(new ArrayBuffer(words * WORD)), capacity: words, used: 0 };
}
