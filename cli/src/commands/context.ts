/** What every command shares: the -g/-f flags, and the gateway client, stack and data dir they lead to. */
import path from 'node:path';
import type { Command } from 'commander';
import { GatewayClient } from '../client.ts';
import { configDir, dataDir, resolveCredentials, resolveGateway } from '../config.ts';
import type { CliIo } from '../io.ts';
import { loadStack, type LoadedStack } from '../stack.ts';

export interface CommonFlags {
  gateway?: string;
  yaml: string;
}

/** Adds `-g, --gateway` and `-f, --yaml` to a command. */
export function withCommon(cmd: Command): Command {
  return cmd
    .option('-g, --gateway <url>', 'gateway URL (default: $OPENFAAS_URL, provider.gateway in stack.yml, http://127.0.0.1:8080)')
    .option('-f, --yaml <file>', 'stack file', 'stack.yml');
}

/** Resolves the shared settings of one command run, each at most once. */
export class CommandContext {
  readonly io: CliIo;
  readonly flags: CommonFlags;
  #gateway: Promise<string> | undefined;

  constructor(io: CliIo, flags: CommonFlags) {
    this.io = io;
    this.flags = flags;
  }

  /** Absolute path of the stack file (it may not exist). */
  get stackFile(): string {
    return path.resolve(this.io.cwd, this.flags.yaml);
  }

  /** Folder of the stack file. */
  get stackDir(): string {
    return path.dirname(this.stackFile);
  }

  /** `$SPINDLE_DATA_DIR` or `<stack folder>/.spindle`. */
  get dataDir(): string {
    return dataDir(this.io.env, this.stackDir);
  }

  get configDir(): string {
    return configDir(this.io.env);
  }

  /** The validated stack file. */
  loadStack(): Promise<LoadedStack> {
    return loadStack(this.stackFile, { cwd: this.io.cwd });
  }

  gateway(): Promise<string> {
    this.#gateway ??= resolveGateway({ flag: this.flags.gateway, env: this.io.env, stackFile: this.stackFile });
    return this.#gateway;
  }

  /** A client with the credentials found for the gateway (or none: public routes still work). */
  async client(): Promise<GatewayClient> {
    const url = await this.gateway();
    const credentials = await resolveCredentials({ gateway: url, env: this.io.env, configDir: this.configDir, dataDir: this.dataDir });
    return new GatewayClient({ url, credentials });
  }
}
