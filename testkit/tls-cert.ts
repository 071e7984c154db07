/** A self-signed certificate for localhost and 127.0.0.1, for https servers in tests and benchmarks. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { messageOf } from '../core/errors.js';

export interface TestCertificate {
  /** PEM key and certificate (the certificate is its own CA). */
  key: string;
  cert: string;
  /** Where the certificate is, for tools that want a file (`curl --cacert`). */
  certFile: string;
}

/** Made with `openssl` in `dir`, valid for two days. */
export function makeTestCertificate(dir: string): TestCertificate {
  const keyFile = path.join(dir, 'tls-key.pem');
  const certFile = path.join(dir, 'tls-cert.pem');
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    throw new Error(`a test certificate needs openssl: ${messageOf(err)}`);
  }
  return { key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8'), certFile };
}
