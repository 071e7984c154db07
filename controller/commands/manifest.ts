import type { Command } from '../command.js';
import { PulpdistError } from '../../core/errors.js';

/** Not built yet: see the issue tracker. */
export const command: Command = {
  name: 'manifest',
  summary: 'not built yet',
  usage: 'pulpdist manifest',
  options: {},
  help: 'This command is not built yet.',
  positionals: true,
  async run() {
    throw new PulpdistError('pulpdist manifest is not built yet');
  },
};
