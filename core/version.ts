/** pulpdist's version, as package.json states it (test/cli.test.ts holds the two equal). */
export const VERSION = '0.1.0';
