import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, test } from 'vitest';
import { jobQueue } from '../../examples/job-queue/protocol.js';
import { main } from '../../src/cli/contract.js';
import { contractOf } from '../../src/protocol/index.js';

const run = async (...argv: string[]) => {
  const lines: string[] = [];
  const code = await main(argv, (line) => lines.push(line));
  return { code, lines };
};

describe('switchboard-contract', () => {
  const dir = mkdtempSync(join(tmpdir(), 'contract-'));
  const deployed = contractOf(jobQueue);
  const deployedFile = join(dir, 'deployed.json');
  writeFileSync(deployedFile, JSON.stringify(deployed));

  test('check exits 0 for the same contract from a module and from its JSON', async () => {
    const result = await run('check', deployedFile, 'examples/job-queue/protocol.ts#jobQueue');
    expect(result).toEqual({ code: 0, lines: ['compatible: 0 safe change(s)'] });
  });

  test('check exits 1 and names each breaking change', async () => {
    const commands = { ...deployed.commands };
    const removed = Object.keys(commands)[0]!;
    delete commands[removed];
    const next = join(dir, 'next.json');
    writeFileSync(next, JSON.stringify({ ...deployed, commands, errors: [...deployed.errors, 'NEW_ERROR'] }));
    const result = await run('check', deployedFile, next);
    expect(result.code).toBe(1);
    expect(result.lines).toEqual([
      `BREAKING  ${deployed.commands[removed]!.kind} ${removed} was removed`,
      'safe      error NEW_ERROR was added',
      'incompatible: 1 breaking change(s)',
    ]);
  });

  test('exits 2 with a reason for a file that is not a contract, and with usage for bad arguments', async () => {
    const bogus = join(dir, 'bogus.json');
    writeFileSync(bogus, '{"name": 1}');
    expect(await run('check', bogus, deployedFile)).toEqual({
      code: 2,
      lines: [`error: ${bogus} is not a Switchboard contract`],
    });
    const usage = await run('frobnicate');
    expect(usage.code).toBe(2);
    expect(usage.lines[0]).toMatch(/^usage:/);
  });

  test('export prints the contract JSON, runnable as a real process', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        '--import',
        'tsx',
        '--conditions=source',
        'src/cli/contract.ts',
        'export',
        'examples/job-queue/protocol.ts',
      ],
      { cwd: process.cwd() },
    );
    expect(JSON.parse(stdout)).toEqual(deployed);
  });
});
