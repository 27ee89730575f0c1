import { execFileSync } from 'node:child_process';
import { EXTERNAL_MEMORY_IN_GLOBAL_LIMIT } from './gc-tuning';

/** Full collections V8 starts for off-heap memory while a process churns through 320 MB of short-lived Buffers. */
function externalPressureMarkings(flag?: string): number {
  const script = `
    ${flag ? `require('node:v8').setFlagsFromString(${JSON.stringify(flag)});` : ''}
    const live = [];
    for (let i = 0; i < 5000; i++) { live.push(Buffer.alloc(64 * 1024)); if (live.length > 100) live.shift(); }
  `;
  const out = execFileSync(process.execPath, ['--trace-incremental-marking', '-e', script], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.includes('external memory pressure')).length;
}

describe('tuneGarbageCollector', () => {
  it('names a flag this Node knows, which stops off-heap churn from starting full collections', () => {
    expect(externalPressureMarkings()).toBeGreaterThan(0);
    expect(externalPressureMarkings(EXTERNAL_MEMORY_IN_GLOBAL_LIMIT)).toBe(0);
  });
});
