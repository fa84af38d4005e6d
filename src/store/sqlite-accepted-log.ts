/**
 * Accepted invocations and dead letters in the engine database (queue/accepted-log.ts for what they mean).
 *
 * Every change is an operation in the engine's group commit (group-commit.ts): the acceptances of one event-loop
 * turn cost one fsync together (urgent: their ids wait for it), start marks and the deletion of a finished
 * invocation ride along with the next commit, the deletion in the same transaction as its record, so a crash leaves
 * either both or neither. Dead letters are bounded: past `deadLetterRetention` the oldest
 * are dropped.
 */
import type { StatementSync } from 'node:sqlite';
import type { AcceptedInvocation, AcceptedLog, DeadLetter, DeadLetterQuery, SequenceProgress } from '../queue/accepted-log';
import type { BatchPart, GroupCommit } from './group-commit';

type Operation =
  | { readonly op: 'accept'; readonly invocation: AcceptedInvocation }
  | { readonly op: 'started'; readonly id: string; readonly attempt: number }
  | { readonly op: 'progress'; readonly id: string; readonly progress: SequenceProgress }
  | { readonly op: 'finish'; readonly id: string }
  | { readonly op: 'bury'; readonly letter: DeadLetter };

interface AcceptedRow {
  id: string;
  namespace: string;
  target: string;
  payload: string;
  accepted_at: number;
  attempts: number;
  progress: string | null;
}

interface DeadLetterRow {
  id: string;
  namespace: string;
  target: string;
  payload: string;
  accepted_at: number;
  attempts: number;
  failed_at: number;
  reason: string;
}

export class SqliteAcceptedLog implements AcceptedLog {
  readonly #writer: GroupCommit;
  readonly #retention: number;
  #operations: Operation[] = [];
  readonly #part: BatchPart;
  readonly #statements: Record<'insert' | 'started' | 'progress' | 'delete' | 'bury' | 'prune' | 'letter' | 'removeLetter' | 'letters' | 'countLetters', StatementSync>;

  constructor(writer: GroupCommit, deadLetterRetention: number) {
    this.#writer = writer;
    this.#retention = deadLetterRetention;
    const { db } = writer.opened;
    this.#statements = {
      insert: db.prepare('INSERT OR IGNORE INTO accepted (id, namespace, target, payload, accepted_at, attempts) VALUES (?, ?, ?, ?, ?, ?)'),
      started: db.prepare('UPDATE accepted SET attempts = MAX(attempts, ?) WHERE id = ?'),
      progress: db.prepare('UPDATE accepted SET progress = ? WHERE id = ?'),
      delete: db.prepare('DELETE FROM accepted WHERE id = ?'),
      bury: db.prepare(
        'INSERT OR REPLACE INTO dead_letters (id, namespace, target, payload, accepted_at, attempts, failed_at, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      prune: db.prepare('DELETE FROM dead_letters WHERE seq IN (SELECT seq FROM dead_letters ORDER BY seq DESC LIMIT -1 OFFSET ?)'),
      letter: db.prepare('SELECT * FROM dead_letters WHERE id = ?'),
      removeLetter: db.prepare('DELETE FROM dead_letters WHERE id = ?'),
      letters: db.prepare('SELECT * FROM dead_letters WHERE namespace = ? ORDER BY seq DESC LIMIT ? OFFSET ?'),
      countLetters: db.prepare('SELECT COUNT(*) AS n FROM dead_letters WHERE namespace = ?'),
    };
    this.#part = {
      write: () => {
        const operations = this.#operations;
        this.#operations = [];
        let buried = false;
        for (const operation of operations) buried = this.#apply(operation) || buried;
        if (buried) this.#statements.prune.run(this.#retention);
      },
    };
  }

  accept(invocation: AcceptedInvocation): Promise<void> {
    this.#add({ op: 'accept', invocation }, true);
    return this.#writer.committed();
  }

  started(activationId: string, attempt: number): void {
    this.#add({ op: 'started', id: activationId, attempt }, false);
  }

  progress(activationId: string, progress: SequenceProgress): Promise<void> {
    this.#add({ op: 'progress', id: activationId, progress }, true);
    return this.#writer.committed();
  }

  finish(activationId: string): void {
    this.#add({ op: 'finish', id: activationId }, false);
  }

  bury(letter: DeadLetter): void {
    this.#add({ op: 'bury', letter }, false);
  }

  unfinished(): AcceptedInvocation[] {
    const rows = this.#writer.opened.db.prepare('SELECT * FROM accepted ORDER BY seq').all() as unknown as AcceptedRow[];
    return rows.map((row) => ({
      activationId: row.id,
      namespace: row.namespace,
      target: row.target,
      payload: JSON.parse(row.payload) as unknown,
      acceptedAt: Number(row.accepted_at),
      attempts: Number(row.attempts),
      ...(row.progress === null ? {} : { progress: JSON.parse(row.progress) as SequenceProgress }),
    }));
  }

  deadLetters(query: DeadLetterQuery): DeadLetter[] {
    this.#writer.flush();
    const rows = this.#statements.letters.all(query.namespace, query.limit, query.skip) as unknown as DeadLetterRow[];
    return rows.map(letterOf);
  }

  countDeadLetters(namespace: string): number {
    this.#writer.flush();
    return Number((this.#statements.countLetters.get(namespace) as { n: number }).n);
  }

  deadLetter(activationId: string): DeadLetter | undefined {
    this.#writer.flush();
    const row = this.#statements.letter.get(activationId) as DeadLetterRow | undefined;
    return row === undefined ? undefined : letterOf(row);
  }

  removeDeadLetter(activationId: string): boolean {
    this.#writer.flush();
    return Number(this.#statements.removeLetter.run(activationId).changes) > 0;
  }

  /** `urgent`: a caller waits for it (group-commit.ts); the others ride along with the next commit. */
  #add(operation: Operation, urgent: boolean): void {
    this.#operations.push(operation);
    this.#writer.add(this.#part, urgent);
  }

  /** Runs one operation's statements; returns whether it added a dead letter. */
  #apply(operation: Operation): boolean {
    const s = this.#statements;
    switch (operation.op) {
      case 'accept': {
        const i = operation.invocation;
        s.insert.run(i.activationId, i.namespace, i.target, JSON.stringify(i.payload ?? {}), i.acceptedAt, i.attempts);
        return false;
      }
      case 'started':
        s.started.run(operation.attempt, operation.id);
        return false;
      case 'progress':
        s.progress.run(JSON.stringify(operation.progress), operation.id);
        return false;
      case 'finish':
        s.delete.run(operation.id);
        return false;
      case 'bury': {
        const l = operation.letter;
        s.delete.run(l.activationId);
        s.bury.run(l.activationId, l.namespace, l.target, JSON.stringify(l.payload ?? {}), l.acceptedAt, l.attempts, l.failedAt, l.reason);
        return true;
      }
    }
  }
}

function letterOf(row: DeadLetterRow): DeadLetter {
  return {
    activationId: row.id,
    namespace: row.namespace,
    target: row.target,
    payload: JSON.parse(row.payload) as unknown,
    acceptedAt: Number(row.accepted_at),
    attempts: Number(row.attempts),
    failedAt: Number(row.failed_at),
    reason: row.reason,
  };
}
