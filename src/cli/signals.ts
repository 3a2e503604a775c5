/**
 * Ctrl-C and SIGTERM during a command, one behaviour for every command (distill, label, export): the first one asks
 * the command to stop cleanly (`cancel`; its exit code then says which signal, 130 or 143: EXIT in command.ts); a second
 * one — or the first where `cancel` declines, as export's before it writes anything — runs the process's 'exit'
 * clean-ups (the training worker killed and its .tmp- run folder removed, a lock released) and ends the process by the
 * signal itself (the shell sees 130 or 143 as well). Not process.exit: it waits for the reads in flight, and a read that hangs
 * (a FIFO or a hung share where a file was expected) kept the process alive after the second Ctrl-C.
 */
import { constants } from 'node:os';
import { EXIT } from './command';

export interface CancelSignals {
  /** The signal that asked the command to stop, once one has. */
  readonly stopping: NodeJS.Signals | undefined;
  /** `code` as the command returns it, with Ctrl-C's 130 read as 143 where SIGTERM stopped the command. */
  exitCode(code: number): number;
  /** Puts the default handling back (the command is done). */
  dispose(): void;
}

/** Listens to SIGINT and SIGTERM until `dispose`; `cancel(signal)` starts a clean stop, or returns false to end at once. */
export function cancelOnSignals(cancel: (signal: NodeJS.Signals) => boolean | void): CancelSignals {
  let stopping: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping === undefined && cancel(signal) !== false) {
      stopping = signal;
      return;
    }
    endBySignal(signal);
  };
  const dispose = (): void => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    get stopping() {
      return stopping;
    },
    exitCode: (code) => (code === EXIT.interrupted && stopping === 'SIGTERM' ? EXIT.terminated : code),
    dispose,
  };

  function endBySignal(signal: NodeJS.Signals): void {
    dispose();
    try {
      // A process ended by a signal never emits 'exit', so the synchronous clean-ups registered there would not run:
      // distill's training worker (stuck, or busy in a long step, it never saw the cancel) went on alone and its
      // .tmp- run folder outlived the command; label's lock stayed. Run them as process.exit would, then end.
      process.emit('exit', 128 + (constants.signals[signal] ?? 0));
    } finally {
      // The signal's own ending (128 + its number: 130, 143), at once, whatever reads are still in flight.
      process.kill(process.pid, signal);
    }
  }
}

/** How a stopped command's exit code names the signal that stopped it: 143 for SIGTERM, else 130 (Ctrl-C). */
export function stoppedExitCode(signal: NodeJS.Signals | undefined): number {
  return signal === 'SIGTERM' ? EXIT.terminated : EXIT.interrupted;
}
