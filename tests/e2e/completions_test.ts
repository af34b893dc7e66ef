/**
 * Shell completions and man pages, generated from the command tree: the
 * scripts load in bash (and zsh and fish where installed) and complete
 * commands, options and option values; every page renders with `man -l`.
 */
import { assert, assertEquals, assertMatch } from "../assert.ts";
import { buildProgram } from "../../src/cli/program.ts";
import { MAIN, missingTools, removeDir, runCli, runTool, tempDir } from "../helpers.ts";

const CLI = `${Deno.execPath()} run --quiet ${MAIN}`;
const names = (await buildProgram()).commands.map((command) => command.name());

/** What bash's completion offers for the words typed so far (the last one being completed). */
function bashCompletes(words: string[]): string {
  const array = words.map((word) => `'${word}'`).join(" ");
  return `COMP_WORDS=(${array}); COMP_CWORD=${words.length - 1}; _desync; ` +
    `echo "${words.join(" ")} => \${COMPREPLY[*]}";`;
}

Deno.test({
  name: "completions: the bash script loads and completes commands, options and values",
  ignore: Boolean(missingTools("bash")),
  async fn() {
    const loaded = await runTool("bash", [
      "-c",
      `source <(${CLI} completions bash); complete -p desync`,
    ]);
    assertEquals(loaded.code, 0, loaded.stderr);
    assertEquals(loaded.stdout.trim(), "complete -o default -F _desync desync");
    const script = [
      `source <(${CLI} completion bash)`,
      bashCompletes(["desync", ""]),
      bashCompletes(["desync", "ext"]),
      bashCompletes(["desync", "extract", "--se"]),
      bashCompletes(["desync", "--digest", "sha256", "info", "-f", ""]),
      bashCompletes(["desync", "make", "--digest", "sha"]),
      bashCompletes(["desync", "completion", ""]),
      bashCompletes(["desync", "-"]),
    ].join("\n");
    const result = await runTool("bash", ["-c", script]);
    assertEquals(result.code, 0, result.stderr);
    const [all, ext, seed, format, digest, shells, root] = result.stdout.trim().split("\n")
      .map((line) => line.split(" => ")[1].split(" "));
    assertEquals(all.sort(), [...names, "completions", "help"].sort());
    assertEquals(ext, ["extract"]);
    assertEquals(seed.sort(), ["--seed", "--seed-dir"]);
    assertEquals(format, ["json", "plain"]);
    assertEquals(digest, ["sha512-256", "sha256"]);
    assertEquals(shells, ["bash", "zsh", "fish"]);
    for (const flag of ["--digest", "--verbose", "--timeout", "--help"]) {
      assert(root.includes(flag), `root options lack ${flag}`);
    }
  },
});

Deno.test({
  name: "completions: the zsh script loads as a completion function",
  ignore: Boolean(missingTools("zsh")),
  async fn() {
    const result = await runTool("zsh", [
      "-c",
      `autoload -U compinit && compinit -u && source <(${CLI} completion zsh) && ` +
      "print -r -- ${_comps[desync]}",
    ]);
    assertEquals(result.code, 0, result.stderr);
    assertEquals(result.stdout.trim(), "_desync");
    assertEquals(result.stderr, "");
  },
});

Deno.test({
  name: "completions: the fish script completes commands and option values",
  ignore: Boolean(missingTools("fish")),
  async fn() {
    const result = await runTool("fish", [
      "-c",
      `${CLI} completion fish | source; complete -C "desync ext"; complete -C "desync info -f "`,
    ]);
    assertEquals(result.code, 0, result.stderr);
    const lines = result.stdout.trim().split("\n").map((line) => line.split("\t")[0]);
    assertEquals(lines, ["extract", "json", "plain"]);
  },
});

Deno.test({
  name: "manpage: a page per command that man renders without warnings",
  ignore: Boolean(missingTools("man")),
  async fn(t) {
    const dir = await tempDir(t);
    try {
      const made = await runCli(["manpage", `${dir}/man`]);
      assertEquals(made.code, 0, made.stderr);
      const pages = [...Deno.readDirSync(`${dir}/man`)].map((entry) => entry.name).sort();
      assertEquals(pages, ["desync.1", ...names.map((name) => `desync-${name}.1`)].sort());
      for (const page of pages) {
        const shown = await runTool("man", ["--warnings", "-l", `${dir}/man/${page}`], {
          env: { MANWIDTH: "100", MANPAGER: "cat", PAGER: "cat" },
        });
        assertEquals(shown.code, 0, `${page}: ${shown.stderr}`);
        assertEquals(shown.stderr, "", `${page}: groff warnings`);
        assertMatch(shown.stdout, /^NAME\n {7}desync/m, page);
        if (page !== "desync.1") {
          assertMatch(shown.stdout, /^OPTIONS$/m, page);
          assertMatch(shown.stdout, /^EXAMPLES\n(.|\n)* {11}desync /m, page);
        }
      }
      const extract = await runTool("man", ["-l", `${dir}/man/desync-extract.1`], {
        env: { MANWIDTH: "200", MANPAGER: "cat", PAGER: "cat" },
      });
      // Options come out as typed (plain hyphens), with their defaults.
      assertMatch(extract.stdout, /-b, --error-retry-base-interval duration\n.*default: 500ms/);
      assertMatch(extract.stdout, /desync extract -s http:\/\/mirror\/store -c/);
      const main = await runTool("man", ["-l", `${dir}/man/desync.1`], {
        env: { MANWIDTH: "200", MANPAGER: "cat", PAGER: "cat" },
      });
      for (const name of names) assertMatch(main.stdout, new RegExp(`desync-${name}\\(1\\)`));
      assertMatch(main.stdout, /DESYNC_ENABLE_PARSABLE_PROGRESS/);
    } finally {
      await removeDir(dir);
    }
  },
});
