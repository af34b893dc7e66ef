/** A one-line progress bar on stderr, shown only when stderr is a terminal. */

export interface Progress {
  add(n: number): void;
  /** Ends the line; later calls do nothing. */
  done(): void;
}

const SILENT: Progress = { add() {}, done() {} };

/** `detail`, when given, is shown after the bar (e.g. where the bytes come from). */
export function progressBar(
  label: string,
  total: number,
  enabled = stderrIsTerminal(),
  detail?: () => string,
): Progress {
  if (!enabled || total <= 0) return SILENT;
  const encoder = new TextEncoder();
  let current = 0;
  let lastDraw = 0;
  let finished = false;
  const started = performance.now();
  const draw = () => {
    const fraction = Math.min(1, current / total);
    const width = 30;
    const filled = Math.round(fraction * width);
    const seconds = (performance.now() - started) / 1000;
    const line = `\r${label} [${"#".repeat(filled)}${" ".repeat(width - filled)}] ` +
      `${(fraction * 100).toFixed(1)}% ${seconds.toFixed(1)}s` +
      (detail ? ` ${detail()}` : "") + "\x1b[K";
    Deno.stderr.writeSync(encoder.encode(line));
  };
  return {
    add(n) {
      current += n;
      const now = performance.now();
      if (now - lastDraw > 100) {
        lastDraw = now;
        draw();
      }
    },
    done() {
      if (finished) return;
      finished = true;
      draw();
      Deno.stderr.writeSync(encoder.encode("\n"));
    },
  };
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
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}
