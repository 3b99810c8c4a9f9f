#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { compareContracts, isContract } from '../protocol/compatibility.js';
import { type Contract, contractOf } from '../protocol/contract.js';
import type { Protocol } from '../protocol/define.js';

const USAGE = `usage:
  switchboard-contract export <module>[#export]      print a protocol's contract as JSON
  switchboard-contract check <deployed> <next>       compare two contracts; exit 1 on a breaking change

<deployed> and <next> are contract .json files or modules exporting a protocol (the export named after
#, else the first export that is a protocol definition). TypeScript modules need a loader: run with
node --import tsx.`;

/** Exit codes: 0 compatible, 1 a breaking change, 2 bad usage or an unreadable input. */
export async function main(argv: readonly string[], out: (line: string) => void): Promise<number> {
  const [verb, ...args] = argv;
  try {
    if (verb === 'export' && args.length === 1) {
      out(JSON.stringify(await load(args[0]!), null, 2));
      return 0;
    }
    if (verb === 'check' && args.length === 2) {
      const report = compareContracts(await load(args[0]!), await load(args[1]!));
      for (const change of report.changes)
        out(`${change.severity === 'breaking' ? 'BREAKING' : 'safe    '}  ${change.message}`);
      out(
        report.compatible
          ? `compatible: ${report.changes.length} safe change(s)`
          : `incompatible: ${report.breaking.length} breaking change(s)`,
      );
      return report.compatible ? 0 : 1;
    }
  } catch (error) {
    out(`error: ${(error as Error).message}`);
    return 2;
  }
  out(USAGE);
  return 2;
}

async function load(spec: string): Promise<Contract> {
  const [file, exportName] = spec.split('#') as [string, string | undefined];
  const path = resolve(file);
  if (path.endsWith('.json')) {
    const value: unknown = JSON.parse(readFileSync(path, 'utf8'));
    if (!isContract(value)) throw new Error(`${file} is not a Switchboard contract`);
    return value;
  }
  const module = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  const candidates = exportName ? [module[exportName]] : Object.values(module);
  const protocol = candidates.find(isProtocol);
  if (!protocol)
    throw new Error(`${spec} exports no protocol definition${exportName ? ` named ${exportName}` : ''}`);
  return contractOf(protocol);
}

function isProtocol(value: unknown): value is Protocol {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Protocol).commands instanceof Map &&
    typeof (value as Protocol).name === 'string' &&
    typeof (value as Protocol).version === 'string'
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2), (line) => process.stdout.write(`${line}\n`)).then((code) => {
    process.exitCode = code;
  });
}
