/**
 * Messages to the host: notifications (post) and requests (request), each request with an id that the host's reply
 * repeats, a map of the pending ones, and a timeout (as microsoft/vscode-hexeditor correlates its messages).
 */
import {
  REQUEST_TIMEOUT_MS,
  type ReplyMessage,
  type RequestMessage,
  type RequestReplies,
  type RequestType,
  type WebviewMessage,
} from '../../review/protocol';
import type { VsCodeApi } from './vscodeApi';

interface Pending {
  request: RequestType;
  resolve: (result: never) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

export class HostConnection {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(
    private readonly api: VsCodeApi,
    private readonly timeoutMs = REQUEST_TIMEOUT_MS,
  ) {}

  /** A message that expects no reply. */
  post(message: Exclude<WebviewMessage, { requestId: number }>): void {
    this.api.postMessage(message);
  }

  /** Sends a request; resolves with the host's reply, rejects on its error or when no reply came in time. */
  request<K extends RequestType>(message: RequestMessage<K>): { requestId: number; reply: Promise<RequestReplies[K]> } {
    const requestId = this.nextId++;
    const reply = new Promise<RequestReplies[K]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        reject(new Error(`the extension did not answer (${message.type}) within ${this.timeoutMs / 1000} s`));
      }, this.timeoutMs);
      this.pending.set(requestId, { request: message.type as K, resolve: resolve as (result: never) => void, reject, timer });
    });
    this.api.postMessage({ ...message, requestId });
    return { requestId, reply };
  }

  /** Requests of this type still waiting for their reply. */
  pendingCount(request: RequestType): number {
    let count = 0;
    for (const entry of this.pending.values()) {
      if (entry.request === request) {
        count += 1;
      }
    }
    return count;
  }

  /** Settles the request a reply answers; a reply to nothing pending (timed out, or a reload) is dropped. */
  settle(reply: ReplyMessage): void {
    const entry = this.pending.get(reply.requestId);
    if (!entry || entry.request !== reply.request) {
      return;
    }
    this.pending.delete(reply.requestId);
    clearTimeout(entry.timer);
    if ('error' in reply) {
      entry.reject(new Error(reply.error));
    } else {
      entry.resolve(reply.result as never);
    }
  }

  /** Forgets every pending request (a new dataset was loaded: their answers no longer apply). */
  clear(): void {
    for (const entry of this.pending.values()) {
      clearTimeout(entry.timer);
    }
    this.pending.clear();
  }
}
