/**
 * User and group names from /etc/passwd and /etc/group, both ways, as the C
 * library's files database answers them (the first line for an ID or a name
 * wins). Unreadable files mean no names are known.
 */

export interface UserDb {
  userName(uid: number): string | undefined;
  groupName(gid: number): string | undefined;
  uid(name: string): number | undefined;
  gid(name: string): number | undefined;
}

interface Table {
  byId: Map<number, string>;
  byName: Map<string, number>;
}

/** Parses passwd/group lines: name:password:id:… */
export function parseIdTable(text: string): Table {
  const byId = new Map<number, string>();
  const byName = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line.startsWith("#") || line.startsWith("+") || line.startsWith("-")) continue;
    const fields = line.split(":");
    if (fields.length < 3 || fields[0] === "") continue;
    const id = Number(fields[2]);
    if (!Number.isInteger(id) || id < 0 || fields[2].trim() === "") continue;
    if (!byId.has(id)) byId.set(id, fields[0]);
    if (!byName.has(fields[0])) byName.set(fields[0], id);
  }
  return { byId, byName };
}

function readTable(path: string): Table {
  try {
    return parseIdTable(Deno.readTextFileSync(path));
  } catch {
    return { byId: new Map(), byName: new Map() };
  }
}

/**
 * The system's names. Each file is read when first asked about, so a command
 * that never looks a name up (tar --no-same-owner, untar not setting owners)
 * reads neither.
 */
export function userDb(passwd = "/etc/passwd", group = "/etc/group"): UserDb {
  let users: Table | undefined;
  let groups: Table | undefined;
  const usersTable = () => users ??= readTable(passwd);
  const groupsTable = () => groups ??= readTable(group);
  return {
    userName: (uid) => usersTable().byId.get(uid),
    groupName: (gid) => groupsTable().byId.get(gid),
    uid: (name) => usersTable().byName.get(name),
    gid: (name) => groupsTable().byName.get(name),
  };
}
