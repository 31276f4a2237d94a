import type { PGLiteSocketServer } from '@electric-sql/pglite-socket';

/**
 * pglite-socket queues every protocol message on its own, across all connections, into one
 * PGlite session. An extended-protocol query is several messages (Parse, Bind, Describe,
 * Execute, then Sync), so another connection's messages could run between them: its Parse
 * replaces the unnamed statement this connection is about to Bind ("bind message supplies 5
 * parameters, but prepared statement "" requires 3"), or, with equal parameter counts, runs
 * one connection's values through the other's SQL without any error. This happens as soon as
 * a statement is large enough to arrive in several socket reads, or the queue is busy.
 *
 * The fix: hold a connection's extended-protocol messages until its Sync (or Flush) and
 * queue them together as one unit, which PGlite executes in one call. Simple queries,
 * start-up and termination pass through as before.
 */

/** Extended-protocol messages that only make sense together with what follows them. */
const HELD = new Set(['P', 'B', 'D', 'E', 'C'].map((letter) => letter.charCodeAt(0)));
/** The start-up message has no type byte: its second int32 is the protocol version. */
const PROTOCOL_3 = 196608;

type Enqueue = (handlerId: number, message: Uint8Array, onData: (data: Uint8Array) => void) => Promise<number>;

interface QueryQueue {
  enqueue: Enqueue;
  clearQueueForHandler(handlerId: number): void;
}

export function batchExtendedProtocolMessages(server: PGLiteSocketServer): void {
  const queue = (server as unknown as { queryQueue: QueryQueue }).queryQueue;
  const enqueue = queue.enqueue.bind(queue);
  const clear = queue.clearQueueForHandler.bind(queue);
  const held = new Map<number, Uint8Array[]>();

  queue.enqueue = (handlerId, message, onData) => {
    if (!isStartup(message) && HELD.has(message[0])) {
      const pending = held.get(handlerId);
      if (pending) pending.push(message);
      else held.set(handlerId, [message]);
      return Promise.resolve(0);
    }
    const pending = held.get(handlerId);
    if (!pending) return enqueue(handlerId, message, onData);
    held.delete(handlerId);
    return enqueue(handlerId, concat([...pending, message]), onData);
  };
  queue.clearQueueForHandler = (handlerId) => {
    held.delete(handlerId);
    clear(handlerId);
  };
}

function isStartup(message: Uint8Array): boolean {
  if (message.length < 8) return false;
  const view = new DataView(message.buffer, message.byteOffset, message.byteLength);
  return view.getInt32(0) === message.length && view.getInt32(4) === PROTOCOL_3;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
