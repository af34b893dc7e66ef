/**
 * Real test peers on 127.0.0.1, started by a test and stopped after:
 * nginx serving (and accepting PUTs into) a directory, and an OpenSSH sshd
 * with throwaway keys plus an `ssh` wrapper for CASYNC_SSH_PATH.
 */
import { which } from "../helpers.ts";

export const NGINX_MISSING = which("nginx")
  ? false
  : "nginx is not installed (apt-get install nginx)";
export const SSHD_MISSING = which("sshd") && which("ssh") && which("ssh-keygen")
  ? false
  : "OpenSSH is not installed (apt-get install openssh-server openssh-client)";

/** The Go desync binary (../shared/peers/desync-go), a second implementation to interoperate with. */
export const GO_DESYNC = new URL("../../../shared/peers/desync-go", import.meta.url).pathname;
export const GO_MISSING = (() => {
  try {
    return Deno.statSync(GO_DESYNC).isFile ? false : `Go desync is missing (${GO_DESYNC})`;
  } catch {
    return `Go desync is missing (${GO_DESYNC})`;
  }
})();

export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function waitForPort(
  port: number,
  child: Deno.ChildProcess,
  what: string,
  log: () => string,
) {
  const deadline = Date.now() + 10_000;
  let exited = false;
  child.status.then(() => exited = true);
  while (Date.now() < deadline) {
    if (exited) throw new Error(`${what} exited at start: ${log()}`);
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  throw new Error(`${what} did not listen on port ${port}: ${log()}`);
}

export interface Peer {
  stop(): Promise<void>;
}

/**
 * Runs a server in the foreground until it listens on `port`; `stop` sends
 * SIGTERM, waits for it and removes its working directory.
 */
async function startDaemon(
  program: string,
  args: string[],
  port: number,
  dir: string,
): Promise<Peer> {
  const child = new Deno.Command(which(program)!, { args, stdout: "null", stderr: "piped" })
    .spawn();
  let stderr = "";
  const drain = (async () => {
    for await (const part of child.stderr) stderr += new TextDecoder().decode(part);
  })();
  await waitForPort(port, child, program, () => stderr);
  return {
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch {
        // already gone
      }
      await child.status;
      await drain;
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

export interface NginxPeer extends Peer {
  /** http://127.0.0.1:PORT — `${url}/x` serves `${root}/x`. */
  url: string;
  root: string;
  /** nginx's access log (combined format: status and body bytes per request). */
  accessLog: string;
}

export interface NginxTls {
  cert: string;
  key: string;
  /** When set, clients must present a certificate signed by this CA. */
  clientCa?: string;
}

/** nginx serving `root` (a directory it may also PUT into), over HTTPS when `tls` is given. */
export async function startNginx(root: string, tls?: NginxTls): Promise<NginxPeer> {
  const dir = await Deno.makeTempDir({ prefix: "desync-nginx-" });
  const port = freePort();
  const asRoot = Deno.uid() === 0 ? "user root;" : "";
  await Deno.writeTextFile(
    `${dir}/nginx.conf`,
    `${asRoot}
error_log ${dir}/error.log;
pid ${dir}/nginx.pid;
events {}
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  client_max_body_size 64m;
  server {
    listen 127.0.0.1:${port}${tls ? " ssl" : ""};
    ${tls ? `ssl_certificate ${tls.cert}; ssl_certificate_key ${tls.key};` : ""}
    ${tls?.clientCa ? `ssl_client_certificate ${tls.clientCa}; ssl_verify_client on;` : ""}
    root ${root};
    dav_methods PUT;
    create_full_put_path on;
  }
}
`,
  );
  // SIGTERM is nginx's fast shutdown: it does not wait for idle keep-alive connections.
  const daemon = await startDaemon(
    "nginx",
    ["-p", dir, "-c", `${dir}/nginx.conf`, "-g", "daemon off;"],
    port,
    dir,
  );
  return {
    url: `${tls ? "https" : "http"}://127.0.0.1:${port}`,
    root,
    accessLog: `${dir}/access.log`,
    stop: daemon.stop,
  };
}

export interface SshdPeer extends Peer {
  port: number;
  /** The client's private key file (the server authorizes its public half). */
  userKey: string;
  /** A known_hosts file listing this server's host key for [127.0.0.1]:port. */
  knownHosts: string;
  /** A script to use as CASYNC_SSH_PATH: ssh with this server's port and key. */
  sshWrapper: string;
  /** PIDs of ssh clients using this server's key (the processes desync spawns). */
  clientProcesses(): number[];
  /**
   * Waits (up to 5 s) until no ssh client nor remote `casync pull` of this server
   * runs; the remote side ends shortly after its connection drops. Returns what is left.
   */
  settledSessions(): Promise<number[]>;
}

/**
 * An OpenSSH server on a free loopback port, run in the foreground (-D);
 * `sftpSubsystem` replaces internal-sftp (a command line run by the user's shell).
 */
export async function startSshd(
  options: { sftpSubsystem?: string } = {},
): Promise<SshdPeer> {
  const dir = await Deno.makeTempDir({ prefix: "desync-sshd-" });
  const port = freePort();
  for (const key of ["hostkey", "userkey"]) {
    const keygen = await new Deno.Command("ssh-keygen", {
      args: ["-q", "-t", "ed25519", "-N", "", "-f", `${dir}/${key}`],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (keygen.code !== 0) {
      throw new Error(`ssh-keygen failed: ${new TextDecoder().decode(keygen.stderr)}`);
    }
  }
  await Deno.copyFile(`${dir}/userkey.pub`, `${dir}/authorized_keys`);
  await Deno.mkdir("/run/sshd", { recursive: true }).catch(() => {});
  await Deno.writeTextFile(
    `${dir}/sshd_config`,
    [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${dir}/hostkey`,
      `AuthorizedKeysFile ${dir}/authorized_keys`,
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "StrictModes no",
      "UsePAM no",
      "PermitRootLogin prohibit-password",
      `PidFile ${dir}/sshd.pid`,
      `Subsystem sftp ${options.sftpSubsystem ?? "internal-sftp"}`,
      "",
    ].join("\n"),
  );
  const sshWrapper = `${dir}/ssh`;
  await Deno.writeTextFile(
    sshWrapper,
    `#!/bin/sh\nexec ssh -p ${port} -i ${dir}/userkey -o StrictHostKeyChecking=no ` +
      `-o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR "$@"\n`,
  );
  await Deno.chmod(sshWrapper, 0o755);
  const hostKey = (await Deno.readTextFile(`${dir}/hostkey.pub`)).trim().split(/\s+/);
  await Deno.writeTextFile(
    `${dir}/known_hosts`,
    `[127.0.0.1]:${port} ${hostKey[0]} ${hostKey[1]}\n`,
  );
  const daemon = await startDaemon("sshd", ["-D", "-e", "-f", `${dir}/sshd_config`], port, dir);
  return {
    port,
    userKey: `${dir}/userkey`,
    knownHosts: `${dir}/known_hosts`,
    sshWrapper,
    clientProcesses: () => processesMatching(`-i ${dir}/userkey`),
    async settledSessions() {
      const left = () => [
        ...processesMatching(`-i ${dir}/userkey`),
        ...processesMatching("casync pull - - - "),
      ];
      for (let i = 0; i < 50 && left().length > 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return left();
    },
    stop: daemon.stop,
  };
}

/** PIDs of running processes whose command line mentions `needle` (from /proc). */
export function processesMatching(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const cmdline = Deno.readTextFileSync(`/proc/${entry.name}/cmdline`).replaceAll("\0", " ");
      if (cmdline.includes(needle)) pids.push(Number(entry.name));
    } catch {
      // the process ended meanwhile
    }
  }
  return pids;
}

export const OPENSSL_MISSING = which("openssl") ? false : "openssl is not installed";

export interface TestPki {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

async function openssl(...args: string[]) {
  const out = await new Deno.Command("openssl", { args, stdout: "null", stderr: "piped" })
    .output();
  if (out.code !== 0) {
    throw new Error(`openssl ${args[0]}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/**
 * Signs a request with makeTestPki's CA (in `dir`); without `extfile` the
 * certificate is X.509 version 1, which rustls refuses.
 */
export async function signWithTestCa(dir: string, csr: string, out: string, extfile?: string) {
  await openssl(
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    `${dir}/ca.pem`,
    "-CAkey",
    `${dir}/ca.key`,
    "-CAcreateserial",
    "-days",
    "2",
    "-out",
    out,
    ...(extfile ? ["-extfile", extfile] : []),
  );
}

/** A throwaway CA with a server certificate for 127.0.0.1 and a client certificate. */
export async function makeTestPki(dir: string): Promise<TestPki> {
  const run = openssl;
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await run(
    "req",
    "-x509",
    ...ec,
    "-keyout",
    `${dir}/ca.key`,
    "-out",
    `${dir}/ca.pem`,
    "-days",
    "2",
    "-subj",
    "/CN=desync test CA",
  );
  // Extensions make these X.509 v3 certificates, which TLS libraries such as rustls require.
  await Deno.writeTextFile(`${dir}/server.ext`, "subjectAltName=IP:127.0.0.1\n");
  await Deno.writeTextFile(`${dir}/client.ext`, "extendedKeyUsage=clientAuth\n");
  for (const who of ["server", "client"]) {
    await run(
      "req",
      ...ec,
      "-keyout",
      `${dir}/${who}.key`,
      "-out",
      `${dir}/${who}.csr`,
      "-subj",
      `/CN=${who}`,
    );
    await signWithTestCa(dir, `${dir}/${who}.csr`, `${dir}/${who}.pem`, `${dir}/${who}.ext`);
  }
  return {
    ca: `${dir}/ca.pem`,
    serverCert: `${dir}/server.pem`,
    serverKey: `${dir}/server.key`,
    clientCert: `${dir}/client.pem`,
    clientKey: `${dir}/client.key`,
  };
}
