/**
 * Where an S3 store's credentials come from, in Go desync's order: the
 * `S3_ACCESS_KEY`/`S3_SECRET_KEY`/`S3_SESSION_TOKEN` variables, else the
 * `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/`AWS_SESSION_TOKEN` ones, else the
 * config file's `s3-credentials` entry for `http(s)://host[:port]` (keys, or an
 * AWS shared credentials file and profile). The region comes from `S3_REGION`,
 * `AWS_REGION` or `AWS_DEFAULT_REGION`, else the entry's `aws-region`, else us-east-1.
 */
import { ConfigError, StoreError } from "../errors.ts";
import { type DesyncConfig, s3CredentialsFor } from "../config.ts";
import { describeFsError } from "../util/fs.ts";
import type { S3Auth } from "./s3_client.ts";

/** The environment variables that matter here, as the CLI read them (unset: absent). */
export type S3Environment = Partial<
  Record<
    | "S3_ACCESS_KEY"
    | "S3_SECRET_KEY"
    | "S3_SESSION_TOKEN"
    | "S3_REGION"
    | "AWS_ACCESS_KEY_ID"
    | "AWS_SECRET_ACCESS_KEY"
    | "AWS_SESSION_TOKEN"
    | "AWS_REGION"
    | "AWS_DEFAULT_REGION"
    | "AWS_PROFILE",
    string
  >
>;

export const S3_ENVIRONMENT_VARIABLES: readonly (keyof S3Environment)[] = [
  "S3_ACCESS_KEY",
  "S3_SECRET_KEY",
  "S3_SESSION_TOKEN",
  "S3_REGION",
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "AWS_REGION",
  "AWS_DEFAULT_REGION",
  "AWS_PROFILE",
];

const DEFAULT_REGION = "us-east-1";

export async function resolveS3Auth(
  location: string,
  env: S3Environment,
  config: DesyncConfig,
): Promise<S3Auth> {
  const envRegion = env.S3_REGION || env.AWS_REGION || env.AWS_DEFAULT_REGION;
  const sets = [
    ["S3_ACCESS_KEY", "S3_SECRET_KEY", "S3_SESSION_TOKEN"],
    ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"],
  ] as const;
  for (const [key, secret, token] of sets) {
    if (env[key] || env[secret]) {
      return {
        accessKeyId: env[key],
        secretAccessKey: env[secret],
        sessionToken: env[token] || undefined,
        region: envRegion || DEFAULT_REGION,
      };
    }
  }
  const entry = s3CredentialsFor(config, new URL(location));
  const region = envRegion || entry?.awsRegion || DEFAULT_REGION;
  if (entry?.accessKey) {
    return { accessKeyId: entry.accessKey, secretAccessKey: entry.secretKey, region };
  }
  if (entry?.awsCredentialsFile) {
    const profile = entry.awsProfile || env.AWS_PROFILE || "default";
    const file = entry.awsCredentialsFile;
    let text: string;
    try {
      text = await Deno.readTextFile(file);
    } catch (error) {
      throw new StoreError(location, `aws-credentials-file ${file}: ${describeFsError(error)}`, {
        cause: error,
      });
    }
    const section = parseIni(text)[profile];
    if (!section) {
      throw new ConfigError(config.file ?? "", `aws-credentials-file ${file} has no [${profile}]`);
    }
    return {
      accessKeyId: section.aws_access_key_id,
      secretAccessKey: section.aws_secret_access_key,
      sessionToken: section.aws_session_token,
      region,
    };
  }
  return { region };
}

/** The sections of an AWS shared credentials file (`[profile]` then `key = value` lines). */
export function parseIni(text: string): Record<string, Record<string, string>> {
  const sections: Record<string, Record<string, string>> = {};
  let current: Record<string, string> | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const header = /^\[\s*(?:profile\s+)?([^\]]+?)\s*\]$/.exec(line);
    if (header) {
      current = sections[header[1]] ??= {};
      continue;
    }
    const equals = line.indexOf("=");
    if (current && equals > 0) {
      current[line.slice(0, equals).trim().toLowerCase()] = line.slice(equals + 1).trim();
    }
  }
  return sections;
}
