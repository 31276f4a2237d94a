import { writeFileSync } from 'node:fs';

/**
 * Writes a tiny llama-architecture GGUF (v3, F32, random weights) so tests run real llama.cpp
 * inference without any downloaded weights. The text it produces is gibberish; tokenizer,
 * sampling, grammar and streaming are all real.
 *
 * Layout (GGUF v3): header, metadata key/values, tensor infos, padding to `general.alignment`,
 * then each tensor's data at an aligned offset. Dimensions are listed innermost first (ne[0]).
 */

export interface TinyGgufOptions {
  embeddingLength?: number;
  blockCount?: number;
  headCount?: number;
  feedForwardLength?: number;
  contextLength?: number;
  /** Seed of the deterministic weight generator, so a test's model is reproducible. */
  seed?: number;
  /**
   * Random weights sample end-of-sequence now and then, which makes "stops at maxTokens"
   * tests flaky. When true (default), the model is wired so EOS is never likely: see below.
   */
  suppressEos?: boolean;
}

const ALIGNMENT = 32;

enum GgufType {
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
}

/** llama.cpp token types: 1 normal, 2 unknown, 3 control, 6 byte. */
enum TokenType {
  NORMAL = 1,
  UNKNOWN = 2,
  CONTROL = 3,
  BYTE = 6,
}

type MetaValue =
  | { type: GgufType.UINT32 | GgufType.INT32 | GgufType.FLOAT32; value: number }
  | { type: GgufType.BOOL; value: boolean }
  | { type: GgufType.STRING; value: string }
  | { type: GgufType.ARRAY; itemType: GgufType.STRING; value: string[] }
  | { type: GgufType.ARRAY; itemType: GgufType.FLOAT32 | GgufType.INT32; value: number[] };

class ByteWriter {
  private readonly parts: Buffer[] = [];
  length = 0;

  push(buffer: Buffer): void {
    this.parts.push(buffer);
    this.length += buffer.length;
  }

  u32(value: number): void {
    const buffer = Buffer.alloc(4);
    buffer.writeUInt32LE(value);
    this.push(buffer);
  }

  i32(value: number): void {
    const buffer = Buffer.alloc(4);
    buffer.writeInt32LE(value);
    this.push(buffer);
  }

  u64(value: number): void {
    const buffer = Buffer.alloc(8);
    buffer.writeBigUInt64LE(BigInt(value));
    this.push(buffer);
  }

  f32(value: number): void {
    const buffer = Buffer.alloc(4);
    buffer.writeFloatLE(value);
    this.push(buffer);
  }

  string(value: string): void {
    const bytes = Buffer.from(value, 'utf8');
    this.u64(bytes.length);
    this.push(bytes);
  }

  padTo(alignment: number): void {
    const rest = this.length % alignment;
    if (rest !== 0) this.push(Buffer.alloc(alignment - rest));
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** SentencePiece-style vocabulary: control tokens, all 256 byte fallbacks, then printable ASCII pieces. */
function vocabulary(): { tokens: string[]; scores: number[]; types: number[] } {
  const tokens = ['<unk>', '<s>', '</s>'];
  const types = [TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL];
  for (let byte = 0; byte < 256; byte++) {
    tokens.push(`<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`);
    types.push(TokenType.BYTE);
  }
  // SentencePiece writes a leading/inner space as U+2581.
  tokens.push('\u2581');
  types.push(TokenType.NORMAL);
  for (let code = 33; code < 127; code++) {
    tokens.push(String.fromCharCode(code));
    types.push(TokenType.NORMAL);
  }
  for (const word of ['\u2581the', '\u2581a', 'ing', 'er', '\u2581hello']) {
    tokens.push(word);
    types.push(TokenType.NORMAL);
  }
  const scores = tokens.map((token, index) => (types[index] === TokenType.NORMAL ? token.length - index / 1000 : 0));
  return { tokens, scores, types };
}

/** Mulberry32: small deterministic PRNG; crypto randomness would make failures unreproducible. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const EOS_ID = 2;

/**
 * Keeps residual dimension 0 a positive constant: every token embedding sets it to 1 and no
 * layer writes to it (row 0 of each output projection is zero), so after the final RMS norm
 * it is large and positive. The EOS row of the output matrix reads only that dimension with a
 * large negative weight, so its logit is always far below every other token's.
 */
function shapeForNoEos(name: string, values: Float32Array, dims: number[]): void {
  const rowLength = dims[0];
  if (name === 'token_embd.weight') {
    for (let row = 0; row < dims[1]; row++) values[row * rowLength] = 1;
  } else if (name.endsWith('.attn_output.weight') || name.endsWith('.ffn_down.weight')) {
    values.fill(0, 0, rowLength);
  } else if (name === 'output.weight') {
    for (let row = 0; row < dims[1]; row++) values[row * rowLength] = 0;
    values.fill(0, EOS_ID * rowLength, (EOS_ID + 1) * rowLength);
    values[EOS_ID * rowLength] = -10;
  }
}

export function tinyGgufVocabularySize(): number {
  return vocabulary().tokens.length;
}

/** Writes the model to `path` and returns its byte size. */
export function writeTinyGguf(path: string, options: TinyGgufOptions = {}): number {
  const embd = options.embeddingLength ?? 64;
  const layers = options.blockCount ?? 2;
  const heads = options.headCount ?? 4;
  const ff = options.feedForwardLength ?? 128;
  const ctx = options.contextLength ?? 512;
  const random = prng(options.seed ?? 42);
  const vocab = vocabulary();
  const nVocab = vocab.tokens.length;

  const metadata: [string, MetaValue][] = [
    ['general.architecture', { type: GgufType.STRING, value: 'llama' }],
    ['general.name', { type: GgufType.STRING, value: 'tiny-test-llama' }],
    ['general.alignment', { type: GgufType.UINT32, value: ALIGNMENT }],
    ['general.file_type', { type: GgufType.UINT32, value: 0 }],
    ['llama.context_length', { type: GgufType.UINT32, value: ctx }],
    ['llama.embedding_length', { type: GgufType.UINT32, value: embd }],
    ['llama.block_count', { type: GgufType.UINT32, value: layers }],
    ['llama.feed_forward_length', { type: GgufType.UINT32, value: ff }],
    ['llama.attention.head_count', { type: GgufType.UINT32, value: heads }],
    ['llama.attention.head_count_kv', { type: GgufType.UINT32, value: heads }],
    ['llama.attention.layer_norm_rms_epsilon', { type: GgufType.FLOAT32, value: 1e-5 }],
    ['llama.rope.dimension_count', { type: GgufType.UINT32, value: embd / heads }],
    ['llama.rope.freq_base', { type: GgufType.FLOAT32, value: 10000 }],
    ['llama.vocab_size', { type: GgufType.UINT32, value: nVocab }],
    ['tokenizer.ggml.model', { type: GgufType.STRING, value: 'llama' }],
    ['tokenizer.ggml.tokens', { type: GgufType.ARRAY, itemType: GgufType.STRING, value: vocab.tokens }],
    ['tokenizer.ggml.scores', { type: GgufType.ARRAY, itemType: GgufType.FLOAT32, value: vocab.scores }],
    ['tokenizer.ggml.token_type', { type: GgufType.ARRAY, itemType: GgufType.INT32, value: vocab.types }],
    ['tokenizer.ggml.unknown_token_id', { type: GgufType.UINT32, value: 0 }],
    ['tokenizer.ggml.bos_token_id', { type: GgufType.UINT32, value: 1 }],
    ['tokenizer.ggml.eos_token_id', { type: GgufType.UINT32, value: EOS_ID }],
    ['tokenizer.ggml.add_bos_token', { type: GgufType.BOOL, value: true }],
    ['tokenizer.ggml.add_eos_token', { type: GgufType.BOOL, value: false }],
  ];

  const tensors: { name: string; dims: number[]; fill: 'ones' | 'random' }[] = [
    { name: 'token_embd.weight', dims: [embd, nVocab], fill: 'random' },
    { name: 'output_norm.weight', dims: [embd], fill: 'ones' },
    { name: 'output.weight', dims: [embd, nVocab], fill: 'random' },
  ];
  for (let layer = 0; layer < layers; layer++) {
    const prefix = `blk.${layer}`;
    tensors.push(
      { name: `${prefix}.attn_norm.weight`, dims: [embd], fill: 'ones' },
      { name: `${prefix}.attn_q.weight`, dims: [embd, embd], fill: 'random' },
      { name: `${prefix}.attn_k.weight`, dims: [embd, embd], fill: 'random' },
      { name: `${prefix}.attn_v.weight`, dims: [embd, embd], fill: 'random' },
      { name: `${prefix}.attn_output.weight`, dims: [embd, embd], fill: 'random' },
      { name: `${prefix}.ffn_norm.weight`, dims: [embd], fill: 'ones' },
      { name: `${prefix}.ffn_gate.weight`, dims: [embd, ff], fill: 'random' },
      { name: `${prefix}.ffn_down.weight`, dims: [ff, embd], fill: 'random' },
      { name: `${prefix}.ffn_up.weight`, dims: [embd, ff], fill: 'random' },
    );
  }

  const out = new ByteWriter();
  out.push(Buffer.from('GGUF', 'ascii'));
  out.u32(3);
  out.u64(tensors.length);
  out.u64(metadata.length);
  for (const [key, meta] of metadata) {
    out.string(key);
    out.u32(meta.type);
    switch (meta.type) {
      case GgufType.UINT32:
        out.u32(meta.value);
        break;
      case GgufType.INT32:
        out.i32(meta.value);
        break;
      case GgufType.FLOAT32:
        out.f32(meta.value);
        break;
      case GgufType.BOOL:
        out.push(Buffer.from([meta.value ? 1 : 0]));
        break;
      case GgufType.STRING:
        out.string(meta.value);
        break;
      case GgufType.ARRAY:
        out.u32(meta.itemType);
        out.u64(meta.value.length);
        for (const item of meta.value) {
          if (meta.itemType === GgufType.STRING) out.string(item as string);
          else if (meta.itemType === GgufType.FLOAT32) out.f32(item as number);
          else out.i32(item as number);
        }
        break;
    }
  }

  const sizes = tensors.map((tensor) => tensor.dims.reduce((a, b) => a * b, 1) * 4);
  let offset = 0;
  for (const [index, tensor] of tensors.entries()) {
    out.string(tensor.name);
    out.u32(tensor.dims.length);
    for (const dim of tensor.dims) out.u64(dim);
    out.u32(0); // GGML_TYPE_F32
    out.u64(offset);
    offset += Math.ceil(sizes[index] / ALIGNMENT) * ALIGNMENT;
  }
  out.padTo(ALIGNMENT);

  const suppressEos = options.suppressEos ?? true;
  for (const [index, tensor] of tensors.entries()) {
    const values = new Float32Array(sizes[index] / 4);
    // Small weights keep activations finite through the random layers.
    for (let i = 0; i < values.length; i++) values[i] = tensor.fill === 'ones' ? 1 : (random() * 2 - 1) * 0.1;
    if (suppressEos) shapeForNoEos(tensor.name, values, tensor.dims);
    out.push(Buffer.from(values.buffer));
    out.padTo(ALIGNMENT);
  }

  const file = out.toBuffer();
  writeFileSync(path, file);
  return file.length;
}
