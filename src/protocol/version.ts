/**
 * Protocol versions are `major.minor.patch`. A client and server talk when the protocol names match
 * and the majors are equal: a minor adds, a major breaks. Returns why they may not, or undefined.
 */
export function versionMismatch(
  server: { name: string; version: string },
  client: { name: string; version: string },
): string | undefined {
  if (server.name !== client.name) {
    return `protocol mismatch: server speaks "${server.name}", client speaks "${client.name}"`;
  }
  const serverMajor = majorOf(server.version);
  const clientMajor = majorOf(client.version);
  if (clientMajor === undefined) return `invalid protocol version "${client.version}"`;
  if (serverMajor !== clientMajor) {
    return `incompatible versions: server ${server.name}@${server.version}, client ${client.name}@${client.version}`;
  }
  return undefined;
}

const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/;

export function majorOf(version: string): number | undefined {
  const match = SEMVER.exec(version);
  return match ? Number(match[1]) : undefined;
}
