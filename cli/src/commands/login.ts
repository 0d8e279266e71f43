/** `spindle login` / `spindle logout`: keep the admin password for a gateway in `~/.spindle/credentials.json`. */
import type { Command } from 'commander';
import { GatewayClient } from '../client.ts';
import { AuthError, UsageError } from '../errors.ts';
import { ADMIN_USER, removeLogin, saveLogin } from '../config.ts';
import { eprintln, println, readAll, type CliIo } from '../io.ts';
import { CommandContext, withCommon } from './context.ts';

/** Adds `spindle login` and `spindle logout` to the program. */
export function register(program: Command, io: CliIo): void {
  withCommon(program.command('login'))
    .description('check credentials against the gateway and store them')
    .option('-u, --username <user>', 'user name', ADMIN_USER)
    .option('-p, --password <password>', 'password (prefer --password-stdin: flags end up in shell history)')
    .option('-s, --password-stdin', 'read the password from stdin')
    .action(async (flags: { username: string; password?: string; passwordStdin?: boolean; gateway?: string; yaml: string }) => {
      if (flags.password !== undefined && flags.passwordStdin) throw new UsageError('use either --password or --password-stdin, not both');
      let password = flags.password;
      if (flags.passwordStdin) {
        if (io.stdin.isTTY) throw new UsageError('--password-stdin needs the password piped in, e.g. `cat password.txt | spindle login --password-stdin`');
        password = (await readAll(io.stdin)).toString('utf8').replace(/\r?\n$/, '');
      } else if (password !== undefined) {
        eprintln(io, 'warning: --password is visible in shell history and process lists; prefer --password-stdin');
      }
      if (!password) throw new UsageError('no password given: pass --password-stdin (e.g. `cat password.txt | spindle login --password-stdin`) or --password');
      const ctx = new CommandContext(io, flags);
      const url = await ctx.gateway();
      const client = new GatewayClient({ url, credentials: { user: flags.username, password } });
      try {
        await client.listFunctions();
      } catch (err) {
        if (err instanceof AuthError) throw new UsageError(`the gateway at ${url} rejected the password for ${flags.username}`);
        throw err;
      }
      const file = await saveLogin(ctx.configDir, url, flags.username, password);
      println(io, `logged in to ${url} as ${flags.username} (credentials saved in ${file})`);
    });

  withCommon(program.command('logout'))
    .description('forget the stored credentials for a gateway')
    .action(async (flags: { gateway?: string; yaml: string }) => {
      const ctx = new CommandContext(io, flags);
      const url = await ctx.gateway();
      const removed = await removeLogin(ctx.configDir, url);
      println(io, removed ? `logged out of ${url}` : `no stored credentials for ${url}`);
    });
}
