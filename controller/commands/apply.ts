import type { Command } from '../command.js';
import { PulpdistError } from '../../core/errors.js';

/** Not built yet: see the issue tracker. */
export const command: Command = {
  name: 'apply',
  summary: 'not built yet',
  usage: 'pulpdist apply',
  options: {},
  help: 'This command is not built yet.',
  positionals: true,
  async run() {
    throw new PulpdistError('pulpdist apply is not built yet');
  },
};
