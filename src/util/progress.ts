/**
 * A one-line progress bar on stderr: done and total, rate, time left and chunk
 * counts. Shown only when stderr is a terminal, unless the CLI says otherwise
 * (Go desync's DESYNC_PROGRESSBAR_ENABLED forces it on; with
 * DESYNC_ENABLE_PARSABLE_PROGRESS each update is a line of its own, no bar).
 */

export interface Progress {
  /** `n` more units done (bytes, or chunks for chunk-counted bars), `chunks` more chunks. */
  add(n: number, chunks?: number): void;
  /** Ends the line; later calls do nothing. */
  done(): void;
}

export interface ProgressOptions {
  /** Overrides the process-wide choice (see configureProgress). */
  enabled?: boolean;
  /** Shown after the figures (e.g. where the bytes come from). */
  detail?: () => string;
  /** What `total` and `add` count; bytes by default. */
  unit?: "bytes" | "chunks";
  /** For byte bars: how many chunks make the total, to show a chunk count beside. */
  chunks?: number;
}

export interface ProgressMode {
  /** Draw even when stderr is no terminal. */
  forced: boolean;
  /** One plain line per update, every 500 ms, instead of a redrawn bar. */
  parsable: boolean;
}

let mode: ProgressMode = { forced: false, parsable: false };

/** Set once by the CLI from the environment; ops never read it themselves. */
export function configureProgress(next: ProgressMode) {
  mode = next;
}

const SILENT: Progress = { add() {}, done() {} };

/**
 * A progress bar for `total` units; a total of 0 or less means unknown (counts
 * and rate only).
 */
export function progressBar(
  label: string,
  total: number,
  options: ProgressOptions = {},
): Progress {
  const parsable = mode.parsable;
  const enabled = options.enabled ?? (mode.forced || parsable || stderrIsTerminal());
  if (!enabled) return SILENT;
  const encoder = new TextEncoder();
  const unit = options.unit ?? "bytes";
  let current = 0;
  let chunks = 0;
  let lastDraw = 0;
  let finished = false;
  const started = performance.now();
  const interval = parsable ? 500 : 100;
  const draw = (final: boolean) => {
    const seconds = (performance.now() - started) / 1000;
    const line = progressLine({
      label,
      current,
      total,
      unit,
      seconds,
      chunks,
      chunksTotal: options.chunks,
      bar: !parsable,
      final,
    }) + (options.detail ? ` ${options.detail()}` : "");
    const text = parsable ? `${line}\n` : `\r${line}\x1b[K${final ? "\n" : ""}`;
    try {
      Deno.stderr.writeSync(encoder.encode(text));
    } catch {
      // stderr went away: progress is not worth failing for
    }
  };
  return {
    add(n, more = 0) {
      current += n;
      chunks += unit === "chunks" ? n : more;
      const now = performance.now();
      if (now - lastDraw > interval) {
        lastDraw = now;
        draw(false);
      }
    },
    done() {
      if (finished) return;
      finished = true;
      draw(true);
    },
  };
}

export interface ProgressState {
  label: string;
  current: number;
  /** 0 or less: unknown. */
  total: number;
  unit: "bytes" | "chunks";
  seconds: number;
  chunks: number;
  chunksTotal?: number;
  /** Draw a bar (terminal) or not (parsable lines). */
  bar: boolean;
  final?: boolean;
}

/** The text of one update: `label [bar] 42.0% 10.0 MiB/23.8 MiB 5.0 MiB/s ETA 3s chunks 160/381`. */
export function progressLine(state: ProgressState): string {
  const { current, total, unit, seconds } = state;
  const amount = (n: number) => unit === "bytes" ? formatBytes(n) : `${n}`;
  const parts = [state.label];
  const known = total > 0;
  const fraction = known ? Math.min(1, current / total) : 0;
  if (known && state.bar) {
    const width = 20;
    const filled = Math.round(fraction * width);
    parts.push(`[${"#".repeat(filled)}${" ".repeat(width - filled)}]`);
  }
  if (known) parts.push(`${(fraction * 100).toFixed(1)}%`);
  const of = unit === "chunks" ? " chunks" : "";
  parts.push(known ? `${amount(current)}/${amount(total)}${of}` : `${amount(current)}${of}`);
  const rate = seconds > 0 ? current / seconds : 0;
  parts.push(unit === "bytes" ? `${formatBytes(rate)}/s` : `${rate.toFixed(0)} chunks/s`);
  if (state.final) {
    parts.push(`in ${formatDuration(seconds)}`);
  } else if (known && rate > 0) {
    parts.push(`ETA ${formatDuration((total - current) / rate)}`);
  }
  if (unit === "bytes" && state.chunksTotal !== undefined) {
    parts.push(`chunks ${state.chunks}/${state.chunksTotal}`);
  }
  return parts.join(" ");
}

/** 42s, 3m05s, 1h02m. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, "0")}m`;
}

function stderrIsTerminal(): boolean {
  try {
    return Deno.stderr.isTerminal();
  } catch {
    return false;
  }
}

/** A byte count for people: 512 B, 1.5 KiB, 256.0 MiB, 4.0 GiB. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(1)} ${units[unit]}`;
}
