/**
 * The model stand-in of the agent workflow bench: a scripted Ollama API that answers every
 * call at once. Run in its own process (forked) so that its work does not share the app's
 * event loop; it reports its URL over IPC.
 *
 *   plan    -> two independent tasks (researcher, analyst)
 *   researcher -> an answer
 *   analyst -> a calculator call, then an answer
 *   writer (aggregation) -> the final answer, in a few streamed pieces
 */
import { isAggregator, isAgent, isPlanner, ScriptedOllama, toolResultsOf } from 'test/support/scripted-ollama';

const MODELS = ['llama3.2:3b', 'llama3.1:8b', 'llama3.1:70b'];

async function main(): Promise<void> {
  const ollama = await new ScriptedOllama(MODELS).start();
  ollama
    .on(isPlanner, {
      content: JSON.stringify({
        tasks: [
          { id: 'facts', agent: 'researcher', instruction: 'Collect the facts', dependsOn: [] },
          { id: 'numbers', agent: 'analyst', instruction: 'Compute the total', dependsOn: [] },
        ],
      }),
    })
    .on(isAgent('researcher'), { content: 'The facts are in.' })
    .on(isAgent('analyst'), (call) =>
      toolResultsOf(call).length === 0
        ? { toolCalls: [{ name: 'calculator', arguments: { expression: '12 * 7' } }] }
        : { content: 'The total is 84.' },
    )
    .on(isAggregator, { content: 'Final answer: the facts are in and the total is 84.' });
  process.send?.({ url: ollama.url });
  process.on('message', (message: { type?: string }) => {
    if (message.type === 'count')
      process.send?.({ calls: ollama.calls.length, abandoned: ollama.calls.filter((call) => call.abandoned).length });
  });
  process.on('disconnect', () => void ollama.stop().then(() => process.exit(0)));
}

void main();
