/**
 * The benchmark's harness: runs each tool's command on the same data in turn,
 * several rounds, and reports medians of wall time, CPU time (user + system),
 * throughput, peak memory and ratios against desync. Sections (one file each
 * under scripts/bench/) only say what to run.
 */
import { BINARY_PERMISSIONS, RUNTIME_FLAGS } from "../permissions.ts";

const MAIN = new URL("../../src/main.ts", import.meta.url).pathname;

/** Go desync, when it is beside the repository (or beside a worktree of it). */
export const GO_DESYNC = ["../../../shared/peers/desync-go", "../../../../shared/peers/desync-go"]
  .map((path) => new URL(path, import.meta.url).pathname)
  .find((path) => {
    try {
      return Deno.statSync(path).isFile;
    } catch {
      return false;
    }
  });

const TIME = (() => {
  try {
    return Deno.statSync("/usr/bin/time").isFile ? "/usr/bin/time" : undefined;
  } catch {
    return undefined;
  }
})();

export interface Sample {
  seconds: number;
  /** CPU seconds in user and kernel mode, where /usr/bin/time tells. */
  userSeconds?: number;
  systemSeconds?: number;
  peakMiB?: number;
  /** Bytes the run fetched over the network, where the server tells. */
  fetchedBytes?: number;
}

/** One contender: a tool's name and its command line. */
export interface Contender {
  tool: string;
  cmd: string;
  args: readonly string[];
}

export interface Row {
  op: string;
  tool: string;
  samples: Sample[];
  /** Bytes processed, for the throughput column. */
  bytes: number;
}

export interface RaceOptions {
  env?: Record<string, string>;
  /** Bytes each run processes (for MB/s). */
  bytes: number;
  /** After each run: how many bytes it took from a server. */
  fetched?: () => Promise<number>;
}

/**
 * Flushes dirty pages (the previous round's output, removed or not), so that
 * writeback happens now and not during the next contender's timing.
 */
export async function settle() {
  await new Deno.Command("sync").output().catch(() => {});
}

/** desync's command line under `deno run`, with the binary's permissions. */
export function ours(args: readonly string[]): Contender {
  return {
    tool: "desync",
    cmd: Deno.execPath(),
    args: ["run", "--quiet", ...BINARY_PERMISSIONS, ...RUNTIME_FLAGS, MAIN, ...args],
  };
}

export class Bench {
  readonly rows: Row[] = [];
  #discarded = 0;

  /** keepDiscarded false: what runs leave is deleted at once (too little disk to keep it). */
  constructor(readonly dir: string, readonly rounds: number, readonly keepDiscarded = true) {}

  /**
   * Moves a finished run's store or tree out of the way instead of deleting it;
   * everything discarded goes when the bench ends. On ext4 without a journal
   * (as on our CI machines) the kernel skips inodes freed in the last minute
   * (six, while their table block is dirty) when it allocates new ones, one by
   * one: a make right after deleting the previous run's 4000 chunk files spent
   * more time in that scan (`recently_deleted`) than in its own work, and
   * casync's ratio swung from 1.1x to 1.7x with the order of the contenders.
   */
  async discard(path: string) {
    if (!this.keepDiscarded) return await Deno.remove(path, { recursive: true }).catch(() => {});
    const trash = `${this.dir}/.discarded`;
    await Deno.mkdir(trash, { recursive: true });
    await Deno.rename(path, `${trash}/${this.#discarded++}`).catch((error) => {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    });
  }

  /** Runs a command once, measuring it; throws with its stderr when it fails. */
  async measure(cmd: string, args: readonly string[], env?: Record<string, string>) {
    const stats = `${this.dir}/.time`;
    const [program, programArgs] = TIME
      ? [TIME, ["-f", "%e %U %S %M", "-o", stats, cmd, ...args]]
      : [cmd, [...args]];
    const started = performance.now();
    const result = await new Deno.Command(program, {
      args: programArgs,
      env,
      stdout: "null",
      stderr: "piped",
    }).output();
    const seconds = (performance.now() - started) / 1000;
    if (result.code !== 0) {
      const said = new TextDecoder().decode(result.stderr);
      throw new Error(`${cmd} ${args.join(" ")} failed: ${said}`);
    }
    const sample: Sample = { seconds };
    if (TIME) {
      const [, user, system, peakKiB] = Deno.readTextFileSync(stats).trim().split("\n").at(-1)!
        .split(" ").map(Number);
      Object.assign(sample, {
        userSeconds: user,
        systemSeconds: system,
        peakMiB: peakKiB / 1024,
      });
    }
    return sample;
  }

  /** Runs each contender `rounds` times, the order rotating, after `reset` each time. */
  async race(
    op: string,
    contenders: readonly Contender[],
    reset: () => Promise<void>,
    options: RaceOptions,
  ) {
    const opRows = contenders.map((c): Row => ({
      op,
      tool: c.tool,
      samples: [],
      bytes: options.bytes,
    }));
    for (let round = 0; round < this.rounds; round++) {
      for (let k = 0; k < contenders.length; k++) {
        const i = (k + round) % contenders.length;
        await reset();
        const sample = await this.measure(contenders[i].cmd, contenders[i].args, options.env);
        if (options.fetched) sample.fetchedBytes = await options.fetched();
        opRows[i].samples.push(sample);
      }
    }
    this.rows.push(...opRows);
  }

  report() {
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1];
    const medianOf = (row: Row, pick: (s: Sample) => number | undefined) => {
      const values = row.samples.map(pick).filter((v): v is number => v !== undefined);
      return values.length ? median(values) : undefined;
    };
    const fixed = (value: number | undefined, digits: number) =>
      value === undefined ? "n/a" : value.toFixed(digits);
    const columns = ["operation", "tool", "wall s", "user s", "sys s", "MB/s", "peak MiB"]
      .concat(["fetched MiB"]);
    const widths = [36, 10, 8, 8, 8, 7, 9, 12];
    const line = (cells: string[]) =>
      cells.map((cell, i) => i < 2 ? cell.padEnd(widths[i]) : cell.padStart(widths[i])).join("");
    console.log(`\n${line(columns)}`);
    for (const row of this.rows) {
      const seconds = medianOf(row, (s) => s.seconds)!;
      const peaks = row.samples.map((s) => s.peakMiB).filter((p): p is number => p !== undefined);
      const fetched = medianOf(row, (s) => s.fetchedBytes);
      console.log(line([
        row.op,
        row.tool,
        seconds.toFixed(3),
        fixed(medianOf(row, (s) => s.userSeconds), 2),
        fixed(medianOf(row, (s) => s.systemSeconds), 2),
        (row.bytes / 1e6 / seconds).toFixed(0),
        peaks.length ? Math.max(...peaks).toFixed(0) : "n/a",
        fetched === undefined ? "" : (fetched / 1048576).toFixed(1),
      ]));
    }
    console.log("");
    for (const op of new Set(this.rows.map((row) => row.op))) {
      const opRows = this.rows.filter((row) => row.op === op);
      const ourRow = opRows.find((row) => row.tool === "desync");
      if (!ourRow) continue;
      for (const other of opRows.filter((row) => row !== ourRow)) {
        const ratio = medianOf(other, (s) => s.seconds)! / medianOf(ourRow, (s) => s.seconds)!;
        console.log(`${op}: desync is ${ratio.toFixed(2)}x ${other.tool}'s speed`);
      }
    }
  }
}

/** Bytes free on the file system holding `dir`, as df tells; undefined when it cannot. */
export async function freeBytes(dir: string): Promise<number | undefined> {
  try {
    const { stdout } = await new Deno.Command("df", { args: ["-Pk", dir], stderr: "null" })
      .output();
    const fields = new TextDecoder().decode(stdout).trim().split("\n").at(-1)!.split(/\s+/);
    const kib = Number(fields[3]);
    return Number.isFinite(kib) ? kib * 1024 : undefined;
  } catch {
    return undefined;
  }
}
