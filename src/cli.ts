import 'reflect-metadata';
import type { LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ConfigValidationError, loadConfig } from 'src/config/app-config';
import { DataDirLockedError } from 'src/database/embedded-postgres';
import { RagReconciler } from 'src/modules/rag/reconciliation/rag-reconciler.service';
import { ReconcileCliModule } from 'src/modules/rag/reconciliation/reconcile-cli.module';

const USAGE = `Usage: node dist/src/cli.js <command> [options]

Commands:
  rag:reconcile [--knowledge-base <id>] [--dry-run]
      Compare chunk rows with stored vectors and repair the difference: delete vectors without a
      chunk row (and those of deleted knowledge bases), embed again chunks without a vector.
      --knowledge-base <id>  only this knowledge base (any workspace); default: all of them
      --dry-run              report the differences, change nothing
      Prints the report as JSON. Exit status: 0 done, 1 failed or some chunks could not be
      repaired, 2 bad arguments. Reads the same environment as the server (DATABASE_URL,
      VECTOR_STORE, ...). With the embedded database, stop the server first or use
      POST /api/v1/admin/rag/reconcile.
`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type CliCommand = { command: 'help' } | { command: 'rag:reconcile'; knowledgeBaseId?: string; dryRun: boolean };

/** Throws a message fit for the user on anything it does not understand. */
function parseArguments(argv: string[]): CliCommand {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') return { command: 'help' };
  if (command !== 'rag:reconcile') throw new Error(`unknown command ${JSON.stringify(command)}`);
  const parsed: CliCommand = { command, dryRun: false };
  for (let i = 0; i < rest.length; i += 1) {
    const argument = rest[i];
    if (argument === '--dry-run') parsed.dryRun = true;
    else if (argument === '--knowledge-base' || argument.startsWith('--knowledge-base=')) {
      const value = argument.includes('=') ? argument.slice(argument.indexOf('=') + 1) : rest[++i];
      if (value === undefined || !UUID.test(value)) throw new Error('--knowledge-base needs a knowledge base id (a UUID)');
      parsed.knowledgeBaseId = value;
    } else if (argument === '--help' || argument === '-h') return { command: 'help' };
    else throw new Error(`unknown option ${JSON.stringify(argument)}`);
  }
  return parsed;
}

/** Logs go to stderr, so stdout carries the report alone. */
class StderrLogger implements LoggerService {
  constructor(private readonly quiet: boolean) {}
  log(message: unknown, context?: string) {
    if (!this.quiet) this.write('LOG', message, context);
  }
  warn(message: unknown, context?: string) {
    if (!this.quiet) this.write('WARN', message, context);
  }
  error(message: unknown, context?: string) {
    this.write('ERROR', message, context);
  }
  private write(level: string, message: unknown, context?: string) {
    const text = typeof message === 'string' ? message : JSON.stringify(message);
    process.stderr.write(`${level}${context ? ` [${context}]` : ''} ${text}\n`);
  }
}

async function main(argv: string[]): Promise<number> {
  let command: CliCommand;
  try {
    command = parseArguments(argv);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (command.command === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  const config = loadConfig();
  const app = await NestFactory.createApplicationContext(ReconcileCliModule.forRoot(config), {
    logger: new StderrLogger(config.logLevel === 'silent'),
    abortOnError: false,
  });
  try {
    const report = await app.get(RagReconciler).run({ knowledgeBaseId: command.knowledgeBaseId, dryRun: command.dryRun });
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return report.totals.failedChunks > 0 || report.knowledgeBases.some((kb) => kb.errors.length > 0) ? 1 : 0;
  } finally {
    await app.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    // Configuration and ownership problems are the operator's to fix: say what, not a stack trace.
    if (error instanceof ConfigValidationError || error instanceof DataDirLockedError) process.stderr.write(`${error.message}\n`);
    else process.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`);
    if (error instanceof DataDirLockedError) {
      process.stderr.write('The server owns the embedded database: stop it first, or use POST /api/v1/admin/rag/reconcile.\n');
    }
    process.exit(1);
  },
);
