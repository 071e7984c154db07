/** The output formats of `pulpdist validate`; reporters only format a LoadResult, they decide nothing. */
import type { LoadResult } from '../../spec/types.js';
import { formatCodeQuality } from './codequality.js';
import { formatJson } from './json.js';
import { formatJunit } from './junit.js';
import { formatText } from './text.js';

export const FORMATS = ['text', 'json', 'junit', 'codequality'] as const;
export type ReportFormat = (typeof FORMATS)[number];

export const REPORTERS: Record<ReportFormat, (result: LoadResult) => string> = {
  text: formatText,
  json: formatJson,
  junit: formatJunit,
  codequality: formatCodeQuality,
};

export function isReportFormat(value: string): value is ReportFormat {
  return (FORMATS as readonly string[]).includes(value);
}
