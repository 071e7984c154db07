import type { Command } from '../command.js';
import { PulpdistError } from '../../core/errors.js';

/** Not built yet: see the issue tracker. */
export const command: Command = {
  name: 'demo',
  summary: 'not built yet',
  usage: 'pulpdist demo',
  options: {},
  help: 'This command is not built yet.',
  positionals: true,
  async run() {
    throw new PulpdistError('pulpdist demo is not built yet');
  },
};
