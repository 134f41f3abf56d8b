/**
 * Progress of a long seed (issue 14, item 9): customers applied so far, the rate, the time left.
 * Pure: the clock (milliseconds) and the output are injected, so the arithmetic is tested without
 * waiting and the CLI (bin/seed.ts) decides where the lines go. Only counts are ever printed: no
 * email, no password.
 */

export interface ProgressSnapshot {
  done: number;
  total: number;
  elapsedSeconds: number;
  /** Customers a second since the start; undefined before the first one (or before any time passed). */
  perSecond: number | undefined;
  /** At the rate so far; undefined while the rate is unknown, 0 when done. */
  secondsLeft: number | undefined;
}

/** The snapshot at `done` of `total`, `elapsedMs` after the start. */
export function snapshot(done: number, total: number, elapsedMs: number): ProgressSnapshot {
  const elapsedSeconds = Math.max(0, elapsedMs) / 1000;
  const perSecond = done > 0 && elapsedSeconds > 0 ? done / elapsedSeconds : undefined;
  const left = Math.max(0, total - done);
  const secondsLeft = left === 0 ? 0 : perSecond === undefined ? undefined : left / perSecond;
  return { done, total, elapsedSeconds, perSecond, secondsLeft };
}

/** `7 s`, `3 min 20 s`, `1 h 05 min`: whole seconds, rounded up (a time left is never 0 s early). */
export function formatDuration(seconds: number): string {
  const whole = Math.max(0, Math.ceil(seconds));
  if (whole < 60) return `${whole} s`;
  if (whole < 3600) {
    const s = whole % 60;
    return s === 0 ? `${whole / 60} min` : `${Math.floor(whole / 60)} min ${s} s`;
  }
  const minutes = Math.floor((whole % 3600) / 60);
  return `${Math.floor(whole / 3600)} h ${String(minutes).padStart(2, '0')} min`;
}

function formatRate(perSecond: number): string {
  return perSecond >= 10 ? perSecond.toFixed(0) : perSecond.toFixed(1);
}

/** `customers 8/16 (50%), 4.1/s, about 2 s left`; the last one `customers 16/16 in 3.9 s (4.1/s)`. */
export function formatProgress(s: ProgressSnapshot): string {
  const percent = s.total === 0 ? 100 : Math.floor((100 * s.done) / s.total);
  const count = `customers ${s.done}/${s.total}`;
  if (s.done >= s.total) {
    const rate = s.perSecond === undefined ? '' : ` (${formatRate(s.perSecond)}/s)`;
    return `${count} in ${s.elapsedSeconds.toFixed(1)} s${rate}`;
  }
  if (s.perSecond === undefined || s.secondsLeft === undefined) return `${count} (${percent}%)`;
  return `${count} (${percent}%), ${formatRate(s.perSecond)}/s, about ${formatDuration(s.secondsLeft)} left`;
}

/** Where progress goes: a stream's `write` and whether it is a terminal to redraw in place. */
export interface ProgressOutput {
  write(text: string): void;
  /** Redraw one line in place (`\r`, clear to end of line); otherwise print plain lines. */
  interactive: boolean;
}

export interface ProgressOptions {
  /** Milliseconds, monotonic (performance.now in the CLI). */
  now: () => number;
  /** Plain lines: one each time this share of the total is done more (0.1: at 10 %, 20 %, …). */
  lineEveryShare?: number;
  /** Plain lines: or when this long passed since the last line, whichever comes first. */
  lineEveryMs?: number;
  /** A terminal: redraw at most this often (the last state is always drawn by finish). */
  redrawEveryMs?: number;
  /** Put before every line, e.g. `seed: `. */
  prefix?: string;
}

export interface ProgressReporter {
  /** `done` of the total are applied (called as each finishes, in any order of customers). */
  update(done: number): void;
  /** A line of other output (an audit line) that must not be drawn over by the progress line. */
  print(line: string): void;
  /** The final state, on a line of its own (after a failure: how far it got). */
  finish(): void;
}

/**
 * A reporter for `total` customers. On a terminal one line is redrawn in place (throttled); in CI,
 * or whenever the output is no terminal, a plain line every `lineEveryShare` of the total or every
 * `lineEveryMs`, whichever comes first, and the final line. Nothing is printed for no customers.
 */
export function progressReporter(total: number, output: ProgressOutput, options: ProgressOptions): ProgressReporter {
  const { now, prefix = '' } = options;
  const lineEveryShare = options.lineEveryShare ?? 0.1;
  const lineEveryMs = options.lineEveryMs ?? 15_000;
  const redrawEveryMs = options.redrawEveryMs ?? 200;
  const step = Math.max(1, Math.ceil(total * lineEveryShare));
  const started = now();
  let done = 0;
  let finished = false;
  // What was last shown: the count and the time (plain lines), or whether a line is drawn (terminal).
  let shownDone = 0;
  let shownAt = started;
  let drawn = false;

  const text = () => `${prefix}${formatProgress(snapshot(done, total, now() - started))}`;
  const draw = () => {
    output.write(`\r${text()}\x1b[K`);
    drawn = true;
    shownAt = now();
  };

  return {
    update(next) {
      if (finished || total === 0) return;
      done = Math.min(total, Math.max(done, next));
      if (done >= total) return; // finish() prints the last state
      const at = now();
      if (output.interactive) {
        if (!drawn || at - shownAt >= redrawEveryMs) draw();
        return;
      }
      if (done - shownDone >= step || at - shownAt >= lineEveryMs) {
        output.write(`${text()}\n`);
        shownDone = done;
        shownAt = at;
      }
    },
    print(line) {
      if (output.interactive && drawn) {
        output.write(`\r\x1b[K${line}\n`);
        if (!finished) draw();
        return;
      }
      output.write(`${line}\n`);
    },
    finish() {
      if (finished || total === 0) return;
      finished = true;
      // Short of the total, the run failed: the line says where it stopped, not a time left.
      const line =
        done >= total
          ? text()
          : `${prefix}customers ${done}/${total}, stopped after ${snapshot(done, total, now() - started).elapsedSeconds.toFixed(1)} s`;
      output.write(output.interactive ? `\r${line}\x1b[K\n` : `${line}\n`);
      drawn = false;
    },
  };
}

/** Whether progress is redrawn in place: a terminal, outside CI, that understands `\r` and ESC [K. */
export function isInteractive(stream: { isTTY?: boolean }, env: Record<string, string | undefined>): boolean {
  if (!stream.isTTY) return false;
  if (env.TERM === 'dumb') return false;
  const ci = env.CI;
  return ci === undefined || ci === '' || ci === '0' || ci.toLowerCase() === 'false';
}
