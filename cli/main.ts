/** `pulpdist`: every command (bin/pulpdist.js runs `manifest` from its bundle instead: cli/manifest-main.ts). */
import { COMMANDS } from './commands/index.js';
import { runMain } from './dispatch.js';

runMain(COMMANDS);
