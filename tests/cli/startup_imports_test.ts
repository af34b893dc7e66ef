/**
 * What a command loads before it starts working: Node's compatibility layer
 * (any `node:` module, or an npm package) costs the main thread 10–15 ms, and
 * an npm package in CommonJS as much again. The entry point, the command line
 * and the commands below load none of them up front; their codec lanes and
 * stores load what they need when it is needed. Read from `deno info`'s module
 * graph: static imports only (a dynamic import loads when it runs).
 */
import { assertEquals } from "../assert.ts";
import { REPO } from "../helpers.ts";

interface GraphModule {
  specifier: string;
  dependencies?: { specifier: string; isDynamic?: boolean; code?: { specifier?: string } }[];
}

async function moduleGraph(root: string): Promise<Map<string, GraphModule>> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "--config", `${REPO}deno.json`, `${REPO}${root}`],
    stdout: "piped",
    stderr: "null",
  }).output();
  const graph = JSON.parse(new TextDecoder().decode(output.stdout)) as { modules: GraphModule[] };
  return new Map(graph.modules.map((module) => [module.specifier, module]));
}

/** The Node and npm modules `root` loads through static imports, each with who imports it. */
function nodeImports(graph: Map<string, GraphModule>, root: string): string[] {
  const found: string[] = [];
  const seen = new Set<string>();
  const visit = (specifier: string) => {
    if (seen.has(specifier)) return;
    seen.add(specifier);
    for (const dependency of graph.get(specifier)?.dependencies ?? []) {
      if (dependency.isDynamic) continue;
      const target = dependency.code?.specifier;
      if (target === undefined) continue;
      if (/^(node|npm):/.test(target) || target.includes("/registry.npmjs.org/")) {
        found.push(`${specifier.slice(specifier.indexOf("/src/") + 1)} -> ${target}`);
      } else {
        visit(target);
      }
    }
  };
  visit(new URL(root, `file://${REPO}`).href);
  return found.sort();
}

const COMMANDS = [
  "extract",
  "verify",
  "list_chunks",
  "cache",
  "chop",
  "make",
  "chunk",
  "info",
  "verify_index",
  "cat",
  "prune",
];

Deno.test("start-up: the entry point, the command line and the core commands import nothing from Node or npm", async () => {
  const graph = await moduleGraph("src/cli/program.ts");
  for (const root of ["src/main.ts", "src/cli/program.ts", "src/chunk/codec_pool.ts"]) {
    assertEquals(nodeImports(graph, root), [], root);
  }
  for (const command of COMMANDS) {
    const root = `src/cli/${command}.ts`;
    assertEquals(nodeImports(graph, root), [], root);
  }
});
