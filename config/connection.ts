import { readFileSync } from 'node:fs';
import { ConfigError, type EnvConfig } from './env.js';

/** What both `Connection.connect` (client) and `NativeConnection.connect` (worker) take. */
export interface TemporalConnectionOptions {
  address: string;
  tls?: { clientCertPair?: { crt: Buffer; key: Buffer }; serverRootCACertificate?: Buffer } | boolean;
  apiKey?: string;
}

function readPem(variable: keyof EnvConfig, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ConfigError(
      `${variable}=${JSON.stringify(path)}: cannot read it (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
}

/**
 * The Temporal connection from the environment: plain for a local dev server, TLS with an API key
 * for Temporal Cloud, mutual TLS for a self-hosted cluster that asks for client certificates.
 */
export function temporalConnectionOptions(env: EnvConfig): TemporalConnectionOptions {
  const { TEMPORAL_TLS_CERT: cert, TEMPORAL_TLS_KEY: key, TEMPORAL_TLS_CA: ca } = env;
  if (!!cert !== !!key) {
    const missing = cert ? 'TEMPORAL_TLS_KEY' : 'TEMPORAL_TLS_CERT';
    throw new ConfigError(`${missing}: needed too, as TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together`);
  }
  if (env.TEMPORAL_TLS === 'false' && (cert || ca || env.TEMPORAL_API_KEY)) {
    throw new ConfigError('TEMPORAL_TLS="false": contradicts the TLS certificate or API key also set');
  }
  const wantsTls = env.TEMPORAL_TLS === 'true' || !!cert || !!ca || !!env.TEMPORAL_API_KEY;
  const tls =
    cert || ca
      ? {
          ...(cert && key
            ? { clientCertPair: { crt: readPem('TEMPORAL_TLS_CERT', cert), key: readPem('TEMPORAL_TLS_KEY', key) } }
            : {}),
          ...(ca ? { serverRootCACertificate: readPem('TEMPORAL_TLS_CA', ca) } : {}),
        }
      : wantsTls;
  return {
    address: env.TEMPORAL_ADDRESS,
    ...(tls ? { tls } : {}),
    ...(env.TEMPORAL_API_KEY ? { apiKey: env.TEMPORAL_API_KEY } : {}),
  };
}
