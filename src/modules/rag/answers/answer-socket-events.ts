import type { Socket } from 'socket.io';
import type { RoutingDecision } from 'src/modules/model-router/gateway/chat-gateway.types';
import type { AnswerOutcome } from 'src/modules/rag/answers/answers.service';
import type { AskDto, AskSourceDto } from 'src/modules/rag/answers/ask.dto';
import type { AckResponse, SocketData } from 'src/modules/realtime/realtime-events';

export interface SocketAsk extends AskDto {
  knowledgeBaseId: string;
}

/** The ack of `rag:ask`, sent once the model has started (or retrieval found nothing). */
export interface AskStarted {
  askId: string;
  sources: AskSourceDto[];
  routing: RoutingDecision | null;
}

/** Client → server on `/realtime`. Failures before the first token come back in the ack. */
export interface AnswerClientEvents {
  'rag:ask': (request: SocketAsk, ack: (response: AckResponse<AskStarted>) => void) => void;
}

/** Server → the asking connection only: the answer's tokens, then exactly one of done or error. */
export interface AnswerServerEvents {
  'rag:ask.token': (payload: { askId: string; delta: string }) => void;
  'rag:ask.done': (payload: { askId: string } & AnswerOutcome) => void;
  'rag:ask.error': (payload: { askId: string; code: string; message: string }) => void;
}

export type AnswerSocket = Socket<AnswerClientEvents, AnswerServerEvents, object, SocketData>;
