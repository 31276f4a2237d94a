import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { ChatTurn } from 'src/modules/conversations/chat-turn';

/** How long shutdown waits for running answers to be stored after it stopped them. */
const SHUTDOWN_GRACE_MS = 5_000;

/** The answers this process is generating, so they can be stopped (deleted conversation, shutdown). */
@Injectable()
export class ActiveTurns implements OnModuleDestroy {
  private readonly turns = new Set<ChatTurn>();

  add(turn: ChatTurn): void {
    this.turns.add(turn);
    void turn.settled.then(() => this.turns.delete(turn));
  }

  /** Only this replica's turns: elsewhere the answer's final write finds no message and is dropped. */
  abortConversation(conversationId: string): void {
    for (const turn of this.turns) if (turn.conversationId === conversationId) turn.abort('the conversation was deleted');
  }

  /** Runs before the database closes: no answer is left `streaming` by a clean shutdown. */
  async onModuleDestroy(): Promise<void> {
    const running = [...this.turns];
    for (const turn of running) turn.abort('the server is shutting down');
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, SHUTDOWN_GRACE_MS)));
    await Promise.race([Promise.all(running.map((turn) => turn.settled)), grace]);
    clearTimeout(timer);
  }
}
