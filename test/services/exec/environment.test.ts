import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ExecOptions, exec, MINIMAL_ENV } from '../../../src/services/exec/index.js';
import { collect, joined, start } from './support.js';

const node = process.execPath;

/** Whether `name` is found on the server's minimal PATH, as exec would look it up. */
function onServerPath(name: string): boolean {
  return (MINIMAL_ENV.PATH ?? '').split(':').some((directory) => {
    try {
      accessSync(join(directory, name), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

let root = '';
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'exec-env-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A file the attacker's code writes `id` into, if it runs; fresh for each attempt. */
let markers = 0;
function marker(): string {
  markers += 1;
  return join(root, `ran-id-${markers}`);
}

/** Runs `args` with the caller's `env`; what came back, and whether the attacker's `id` ran. */
async function attempt(options: ExecOptions, args: string[], env: Record<string, string>, ran: string) {
  const service = await start({ enabled: true, cwd: root, ...options });
  const { items, error } = await collect(service.run({ args, env }));
  return {
    items: error ? items : [],
    error: error && [error.code, error.message, error.data],
    ranId: existsSync(ran) && readFileSync(ran, 'utf8').startsWith('uid='),
  };
}

/** The same refusal for every variable a server did not name. */
function refused(name: string) {
  return {
    items: [],
    error: ['ENV_NOT_ALLOWED', `the caller may not set ${JSON.stringify(name)}`, { name }],
    ranId: false,
  };
}

/**
 * The escapes of issue 12, each a variable a deny-list missed. Each is refused now; and each is
 * shown to be a real escape when a server names the variable itself, so the refusal is what stops
 * it, not a broken setup. (The issue wrote the `.pth` files through the files service; here they
 * are written directly into the root, which is what that service does.)
 */
describe('exec: a caller sets only the variables the server names', () => {
  it.skipIf(!onServerPath('ldd'))('refuses BASH_FUNC_echo%% with ldd (a bash script) allowed', async () => {
    const name = 'BASH_FUNC_echo%%';
    const ran = marker();
    const env = { [name]: `() { id > ${ran}; }` };
    expect(await attempt({ allow: ['ldd'] }, ['ldd', '--version'], env, ran)).toEqual(refused(name));
    const named = await attempt(
      { allow: ['ldd'], allowEnv: ['BASH_FUNC_*'] },
      ['ldd', '--version'],
      env,
      ran,
    );
    expect(named.ranId).toBe(true);
  });

  describe.skipIf(!onServerPath('pip3') || !onServerPath('python3'))('with pip3 allowed', () => {
    /** Python's user site-packages under `base`, with a `.pth` whose import line runs `id`. */
    async function userSite(base: string, ran: string): Promise<void> {
      const version = execFileSync('python3', ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], {
        env: MINIMAL_ENV,
        encoding: 'utf8',
      }).trim();
      const site = join(base, 'lib', `python${version}`, 'site-packages');
      await mkdir(site, { recursive: true });
      await writeFile(join(site, 'evil.pth'), `import os; os.system("id > ${ran}")\n`);
    }

    it('refuses PYTHONUSERBASE pointing at a .pth file in the root', async () => {
      const ran = marker();
      const base = join(root, `userbase-${markers}`);
      await userSite(base, ran);
      const env = { PYTHONUSERBASE: base };
      expect(await attempt({ allow: ['pip3'] }, ['pip3', '--version'], env, ran)).toEqual(
        refused('PYTHONUSERBASE'),
      );
      const named = await attempt(
        { allow: ['pip3'], allowEnv: ['PYTHONUSERBASE'] },
        ['pip3', '--version'],
        env,
        ran,
      );
      expect(named.ranId).toBe(true);
    });

    it('refuses HOME pointing at a .pth file in the root', async () => {
      const ran = marker();
      const home = join(root, `home-${markers}`);
      await userSite(join(home, '.local'), ran);
      const env = { HOME: home };
      expect(await attempt({ allow: ['pip3'] }, ['pip3', '--version'], env, ran)).toEqual(refused('HOME'));
      const named = await attempt({ allow: ['pip3'], allowEnv: ['HOME'] }, ['pip3', '--version'], env, ran);
      expect(named.ranId).toBe(true);
    });
  });

  it('refuses every variable the server does not name, the minimal ones included', async () => {
    const service = await start({ enabled: true, allow: ['/bin/echo'], allowEnv: ['APP_MODE', 'APP_X_*'] });
    for (const name of [
      'PATH',
      'HOME',
      'LANG',
      'LD_PRELOAD',
      'APP_MODE2',
      'APP_X',
      'app_mode',
      'XDG_CONFIG_HOME',
    ]) {
      const { items, error } = await collect(
        service.run({ args: ['/bin/echo'], env: { APP_MODE: '1', [name]: 'x' } }),
      );
      expect([items, error?.code, error?.message, error?.data]).toEqual([
        [],
        'ENV_NOT_ALLOWED',
        `the caller may not set ${JSON.stringify(name)}`,
        { name },
      ]);
    }
  });

  it('passes exactly the minimal base, the server’s variables and the named ones the caller set', async () => {
    const service = await start({
      enabled: true,
      allow: [node],
      env: { SERVER: 's', LANG: 'en_US.UTF-8', APP_MODE: 'server' },
      allowEnv: ['APP_MODE', 'APP_X_*'],
    });
    const { items } = await collect(
      service.run({
        args: [node, '-e', 'process.stdout.write(JSON.stringify(process.env))'],
        env: { APP_MODE: 'caller', APP_X_ONE: '1', APP_X_: 'empty suffix' },
      }),
    );
    const { output, last } = joined(items);
    expect(JSON.parse(output)).toEqual({
      PATH: '/usr/local/bin:/usr/bin:/bin',
      LANG: 'en_US.UTF-8',
      HOME: '/nonexistent',
      SERVER: 's',
      APP_MODE: 'caller',
      APP_X_ONE: '1',
      APP_X_: 'empty suffix',
    });
    expect(last).toEqual({ kind: 'exit', code: 0 });
  });

  it('refuses an allowEnv entry that is not a name or a NAME_* prefix', () => {
    for (const entry of ['*', '', 'A=B', 'A*B', 'A**', 'NUL\0']) {
      expect(() => exec({ allowEnv: [entry] })).toThrow(
        new TypeError(`exec: allowEnv entry ${JSON.stringify(entry)} is not a name or a NAME_* prefix`),
      );
    }
  });
});
