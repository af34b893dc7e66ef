/** Writes many lines to stdout in large blocks rather than one write per line. */
export async function writeLines(lines: Iterable<string>): Promise<void> {
  const encoder = new TextEncoder();
  let batch: string[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const bytes = encoder.encode(batch.join("\n") + "\n");
    batch = [];
    let done = 0;
    while (done < bytes.length) done += await Deno.stdout.write(bytes.subarray(done));
  };
  for (const line of lines) {
    batch.push(line);
    if (batch.length >= 4096) await flush();
  }
  await flush();
}
