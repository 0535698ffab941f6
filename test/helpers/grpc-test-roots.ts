// Import first (before anything loads @grpc/grpc-js): makes gRPC clients of this test process trust the test CA, by
// pointing GRPC_DEFAULT_SSL_ROOTS_FILE_PATH (read once when grpc-js loads) at a file with the system roots and the CA.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tls from 'node:tls';
import { makeTestPki } from './tls.js';

const rootsFile = path.join(mkdtempSync(path.join(tmpdir(), 'herald-grpc-roots-')), 'roots.pem');
writeFileSync(rootsFile, [...tls.rootCertificates, makeTestPki().ca].join('\n'));
process.env['GRPC_DEFAULT_SSL_ROOTS_FILE_PATH'] = rootsFile;
export const grpcRootsFile = rootsFile;
