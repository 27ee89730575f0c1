import { existsSync, readFileSync, rmSync } from 'node:fs';
import { releaseTestInfrastructure, type TestInfrastructure } from '@kizuna/shared/testing';
import { STATE_FILE } from './global-setup';

export default async function globalTeardown(): Promise<void> {
  if (!existsSync(STATE_FILE)) return;
  const infra = JSON.parse(readFileSync(STATE_FILE, 'utf8')) as TestInfrastructure;
  rmSync(STATE_FILE, { force: true });
  await releaseTestInfrastructure(infra);
}
