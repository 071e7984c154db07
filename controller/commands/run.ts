import type { Command } from '../command.js';
import { PulpdistError } from '../../core/errors.js';

/** Not built yet: see the issue tracker. */
export const command: Command = {
  name: 'run',
  summary: 'not built yet',
  usage: 'pulpdist run',
  options: {},
  help: 'This command is not built yet.',
  positionals: true,
  async run() {
    throw new PulpdistError('pulpdist run is not built yet');
  },
};
